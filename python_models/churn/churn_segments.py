"""Segments in SHAP space: UMAP + HDBSCAN on a bounded sample, every customer assigned.

Two populations get a segment:

* ``scored``: every customer in churn_scores (their SHAP vectors, the values of
  churn_shap_values, computed here wide in one pass);
* ``backtest``: the customers of the latest labelled as_of_month, explained by the same
  model (out of sample: that month is in the validation window). Their outcome is known, so
  churn_segment_profiles can report each segment's observed churn rate.

At most ``max_fit_rows`` scored customers are collected to fit UMAP and HDBSCAN; everyone is
then assigned by nearest neighbours in a mapInPandas with the fitted segmenter shipped once.

Segment ids stay put across builds: the refitted segments are matched to the previous
build's segments (ml.segments.match_segments, Hungarian on centroids in today's SHAP space,
the previous segments' centroids taken over their customers' SHAP vectors today). A segment
that persists keeps its id; a new one gets a new id and ``is_new_segment``.
"""


def model(dbt, session):
    dbt.config(
        # replaced whole on every build, but as an incremental insert_overwrite: a table
        # model's old relation is dropped before it runs, and the ids need the previous build
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        on_schema_change="append_new_columns",
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
    from ml.spark_jobs import LABEL_COLUMN, bounded_sample, load_current_model, shap_wide, ship

    version, classifier = load_current_model(dbt.ref("churn_model_registry"))
    names = sorted(classifier.feature_names_)
    # every scored customer's SHAP vector, computed wide in one pass with the model shipped
    # once (the same values as churn_shap_values) and kept for the three passes below:
    # pivoting the long table back to wide shuffled 60 rows per customer, three times
    population = dbt.ref("customer_features_monthly").join(
        dbt.ref("churn_scores").select("customer_id", "as_of_month"),
        ["customer_id", "as_of_month"],
    )
    scored = (
        shap_wide(population, classifier, session)
        .withColumn("model_version", F.lit(version))
        .persist()
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

    # stable ids: match the refitted segments to the previous build's
    fitted_labels = segmenter.fit_labels_
    clustered = sample[names][fitted_labels >= 0]
    new_centroids = {
        int(label): rows.to_numpy(dtype=float).mean(axis=0)
        for label, rows in clustered.groupby(fitted_labels[fitted_labels >= 0])
    }
    previous_centroids = {}
    if dbt.is_incremental:
        previous = (
            session.table(str(dbt.this))
            .where(F.col("population") == "scored")
            .select("customer_id", F.col("segment_id").alias("previous_segment_id"))
        )
        averaged = (
            scored.join(previous, "customer_id")
            .groupBy("previous_segment_id")
            .agg(*[F.avg(n).alias(n) for n in names])
            .collect()  # one row per previous segment
        )
        previous_centroids = {
            int(r["previous_segment_id"]): np.array([r[n] for n in names], dtype=float)
            for r in averaged
        }
    stable_id = match_segments(new_centroids, previous_centroids)
    new_ids = {sid for sid in stable_id.values() if sid not in previous_centroids}

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
    fitted = ship(session, (segmenter, stable_id, new_ids))

    def assign(batches):
        model, ids, fresh = fitted.value
        for batch in batches:
            if batch.empty:
                continue
            label, position = model.assign(batch[names].to_numpy())
            segment = np.array([ids[int(x)] for x in label], dtype=np.int32)
            yield pd.DataFrame(
                {
                    "customer_id": batch["customer_id"],
                    "model_version": batch["model_version"],
                    "population": batch["population"],
                    "segment_id": segment,
                    "is_new_segment": np.isin(segment, list(fresh)),
                    "embedding_x": position[:, 0].astype(float),
                    "embedding_y": position[:, 1].astype(float),
                    LABEL_COLUMN: batch[LABEL_COLUMN],
                    "as_of_month": batch["as_of_month"],
                }
            )

    schema = (
        "customer_id string, model_version string, population string, segment_id int, "
        "is_new_segment boolean, embedding_x double, embedding_y double, "
        f"{LABEL_COLUMN} boolean, as_of_month date"
    )
    return both.mapInPandas(assign, schema)
