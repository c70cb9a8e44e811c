"""Segments in SHAP space: UMAP + HDBSCAN on a bounded sample, every customer assigned.

Two populations get a segment:

* ``scored``: every customer in churn_scores (their SHAP vectors from churn_shap_values);
* ``backtest``: the customers of the latest labelled as_of_month, explained by the same
  model (out of sample: that month is in the validation window). Their outcome is known, so
  churn_segment_profiles can report each segment's observed churn rate.

At most ``max_fit_rows`` scored customers are collected to fit UMAP and HDBSCAN; everyone is
then assigned by nearest neighbours in a mapInPandas with the fitted segmenter shipped once.
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
    from ml.spark_jobs import LABEL_COLUMN, bounded_sample, load_current_model, shap_wide, ship

    shap = dbt.ref("churn_shap_values")
    names = sorted(r[0] for r in shap.select("feature_name").distinct().collect())
    scored = (
        shap.groupBy("customer_id", "as_of_month", "model_version")
        .pivot("feature_name", names)
        .agg(F.first("shap_value"))
    )
    random_state = int(dbt.config.get("random_state"))
    sample, _ = bounded_sample(
        scored, int(dbt.config.get("max_fit_rows")), random_state, keys=("customer_id",)
    )
    segmenter = ShapSegmenter(
        min_cluster_share=float(dbt.config.get("min_cluster_share")),
        cluster_selection_method=dbt.config.get("cluster_selection_method"),
        random_state=random_state,
    ).fit(sample[names].to_numpy())

    version, classifier = load_current_model(dbt.ref("churn_model_registry"))
    training = dbt.ref("churn_training_set")
    last_labelled = training.agg(F.max("as_of_month")).first()[0]
    backtest = shap_wide(
        training.where(F.col("as_of_month") == F.lit(last_labelled)),
        classifier,
        session,
        keep=(LABEL_COLUMN,),
    ).withColumn("model_version", F.lit(version))

    both = scored.select(
        "customer_id",
        "as_of_month",
        "model_version",
        *names,
        F.lit("scored").alias("population"),
        F.lit(None).cast("boolean").alias(LABEL_COLUMN),
    ).unionByName(
        backtest.select(
            "customer_id",
            "as_of_month",
            "model_version",
            *names,
            F.lit("backtest").alias("population"),
            LABEL_COLUMN,
        )
    )
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
                    "population": batch["population"],
                    "segment_id": segment.astype(np.int32),
                    "embedding_x": position[:, 0].astype(float),
                    "embedding_y": position[:, 1].astype(float),
                    LABEL_COLUMN: batch[LABEL_COLUMN],
                    "as_of_month": batch["as_of_month"],
                }
            )

    schema = (
        "customer_id string, model_version string, population string, segment_id int, "
        f"embedding_x double, embedding_y double, {LABEL_COLUMN} boolean, as_of_month date"
    )
    return both.mapInPandas(assign, schema)
