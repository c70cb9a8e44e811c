"""The fitted segmenter, as a table: the fit sample's SHAP vectors, segments and positions.

UMAP + HDBSCAN are fitted on at most ``max_fit_rows`` scored customers (a seeded hash sample
of customer ids, sorted, so the same data always gives the same fit). This table keeps what
the fit produced, one row per sampled customer: the SHAP vector (one column per model
feature), the HDBSCAN label, the stable ``segment_id`` and the UMAP position. From it,
``ml.segments.ShapSegmenter.from_fit`` rebuilds the segmenter that assigns any customer by
nearest neighbours: churn_segments (everyone, in Spark) and the API's ``POST /score`` (one
application's customer) use the same one.

Segment ids stay put across builds: the refitted segments are matched to the previous
build's (ml.segments.match_segments, Hungarian on centroids in today's SHAP space; a previous
segment's centroid is the mean of today's SHAP vectors of the customers it held in the
previous fit sample). A segment that persists keeps its id; a new one gets a new id.
"""


def model(dbt, session):
    dbt.config(
        # replaced whole on every build, but as an incremental insert_overwrite: a table
        # model's old relation is dropped before it runs, and the ids need the previous fit
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        on_schema_change="sync_all_columns",
        max_fit_rows=5000,
        random_state=42,
        # HDBSCAN: smallest segment as a share of the fit sample; "leaf" gives finer segments
        min_cluster_share=0.05,
        cluster_selection_method="eom",
    )
    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F

    from ml.segments import ShapSegmenter, match_segments
    from ml.spark_jobs import ID_COLUMNS, bounded_sample, load_current_model

    version, classifier = load_current_model(dbt.ref("churn_model_registry"))
    features = classifier.feature_names_
    names = sorted(features)
    population = (
        dbt.ref("customer_features_monthly")
        .join(dbt.ref("churn_scores").select(*ID_COLUMNS), list(ID_COLUMNS))
        .select(*ID_COLUMNS, *features)
    )
    random_state = int(dbt.config.get("random_state"))
    # bounded and deterministic: a seeded hash of the customer id, sorted by it
    sample, _ = bounded_sample(
        population, int(dbt.config.get("max_fit_rows")), random_state, keys=("customer_id",)
    )

    def shap_frame(rows: pd.DataFrame) -> pd.DataFrame:
        values, _ = classifier.shap_values(rows)
        return pd.DataFrame(values, columns=features, index=rows.index)[names]

    shap = shap_frame(sample)
    segmenter = ShapSegmenter(
        min_cluster_share=float(dbt.config.get("min_cluster_share")),
        cluster_selection_method=dbt.config.get("cluster_selection_method"),
        random_state=random_state,
    ).fit(shap.to_numpy())
    labels = segmenter.fit_labels_
    clustered = labels >= 0
    new_centroids = {
        int(label): rows.to_numpy(dtype=float).mean(axis=0)
        for label, rows in shap[clustered].groupby(labels[clustered])
    }

    previous_centroids = {}
    if dbt.is_incremental:
        previous = (
            session.table(str(dbt.this))
            .where(F.col("segment_id").isNotNull())
            .select("customer_id", F.col("segment_id").alias("previous_segment_id"))
        )
        # at most max_fit_rows customers: today's features of the previous fit sample
        held = population.join(previous, "customer_id").toPandas()
        if not held.empty:
            today = shap_frame(held)
            previous_centroids = {
                int(segment): rows.to_numpy(dtype=float).mean(axis=0)
                for segment, rows in today.groupby(held["previous_segment_id"].to_numpy())
            }
    stable_id = match_segments(new_centroids, previous_centroids)
    segment = np.array([stable_id[int(x)] if x >= 0 else -1 for x in labels])
    fit = pd.DataFrame(
        {
            "customer_id": sample["customer_id"],
            "as_of_month": sample["as_of_month"],
            "model_version": version,
            "fit_label": labels.astype("int32"),
            "segment_id": pd.array(np.where(segment >= 0, segment, None), dtype="Int32"),
            "is_new_segment": pd.array(
                np.where(segment >= 0, ~np.isin(segment, list(previous_centroids)), None),
                dtype="boolean",
            ),
            "embedding_x": segmenter.embedding_[:, 0].astype(float),
            "embedding_y": segmenter.embedding_[:, 1].astype(float),
        }
    )
    fit = pd.concat([fit, shap.reset_index(drop=True).astype(float)], axis=1)
    schema = (
        "customer_id string, as_of_month date, model_version string, fit_label int, "
        "segment_id int, is_new_segment boolean, embedding_x double, embedding_y double, "
        + ", ".join(f"`{name}` double" for name in names)
    )
    return session.createDataFrame(fit, schema=schema)
