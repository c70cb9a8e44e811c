"""Segments of scored customers in SHAP space: UMAP + HDBSCAN on a bounded sample.

The SHAP matrix is pivoted in Spark; at most ``max_fit_rows`` customers are collected to fit
UMAP and HDBSCAN; then every customer is assigned a segment and a 2-D position by nearest
neighbours, in a mapInPandas with the fitted segmenter broadcast.
"""


def model(dbt, session):
    dbt.config(
        materialized="table",
        max_fit_rows=5000,
        random_state=42,
        # HDBSCAN: smallest segment as a share of the fit sample; "leaf" gives finer segments
        min_cluster_share=0.05,
        cluster_selection_method="eom",
    )
    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F

    from ml.segments import ShapSegmenter
    from ml.spark_jobs import bounded_sample, ship

    shap = dbt.ref("churn_shap_values")
    names = sorted(r[0] for r in shap.select("feature_name").distinct().collect())
    wide = (
        shap.groupBy("customer_id", "as_of_month", "model_version")
        .pivot("feature_name", names)
        .agg(F.first("shap_value"))
    )
    random_state = int(dbt.config.get("random_state"))
    sample, _ = bounded_sample(wide, int(dbt.config.get("max_fit_rows")), random_state)
    segmenter = ShapSegmenter(
        min_cluster_share=float(dbt.config.get("min_cluster_share")),
        cluster_selection_method=dbt.config.get("cluster_selection_method"),
        random_state=random_state,
    ).fit(sample[names].to_numpy())
    fitted = ship(session, segmenter)

    def assign(batches):
        model = fitted.value
        for batch in batches:
            if batch.empty:
                continue
            segment, position = model.assign(batch[names].to_numpy())
            yield pd.DataFrame(
                {
                    "customer_id": batch["customer_id"],
                    "model_version": batch["model_version"],
                    "segment_id": segment.astype(np.int32),
                    "embedding_x": position[:, 0].astype(float),
                    "embedding_y": position[:, 1].astype(float),
                    "as_of_month": batch["as_of_month"],
                }
            )

    schema = (
        "customer_id string, model_version string, segment_id int, embedding_x double, "
        "embedding_y double, as_of_month date"
    )
    return wide.mapInPandas(assign, schema)
