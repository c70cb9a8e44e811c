"""Segments in SHAP space: every customer assigned by the segmenter churn_segmenter keeps.

Two populations get a segment:

* ``scored``: every customer in churn_scores (their SHAP vectors, read from
  churn_shap_vectors, which computes them once);
* ``backtest``: the customer-months of the validation window (the latest
  ``validation_months`` labelled as_of_months, out of sample for the model that selected
  the champion), explained by the same model: the validation rows of churn_training_set
  (itself a seeded sample when there are more than ``max_training_rows`` labelled rows),
  at most ``max_backtest_rows`` of them, a seeded hash sample of (customer, month). Their
  outcome is known, so churn_segment_profiles can report each segment's observed churn
  rate, pooled over the window's months so that it rests on enough churners.

The segmenter (UMAP + HDBSCAN fitted on a bounded sample, with ids matched to the previous
build's) is rebuilt from the table churn_segmenter, which holds at most ``max_fit_rows``
rows, and shipped once to a mapInPandas that assigns everyone by nearest neighbours. A
scored customer keeps last build's segment while at least ``keep_share`` (0.4) of their
nearest fit neighbours still hold it: they move when their reasons to leave clearly changed,
not when a neighbour vote tips (the API's POST /score, with no history, takes the vote).

Membership is reviewed every ``segment_review_months`` (3: the scored months March, June,
September and December). Between reviews a customer keeps last build's segment while it
exists, so a campaign list drawn in one month still holds in the next; a new customer joins
their nearest neighbours' segment. ``is_segment_held`` marks the customers held in a segment
that the review would move them out of. With ``segment_review_months`` 1 every build is a
review.
"""


def model(dbt, session):
    dbt.config(
        materialized="table",
        max_backtest_rows=200_000,
        random_state=42,
        # a scored customer keeps last build's segment while this share of their nearest
        # fit neighbours still hold it
        keep_share=0.4,
    )
    import logging

    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F

    from ml.segments import ShapSegmenter, hold_between_reviews, is_review_month
    from ml.spark_jobs import LABEL_COLUMN, load_current_model, shap_wide, ship

    version, classifier = load_current_model(dbt.ref("churn_model_registry"))
    names = sorted(classifier.feature_names_)
    fit = dbt.ref("churn_segmenter").toPandas()  # bounded: the fit sample, max_fit_rows
    if set(fit["model_version"]) != {version}:
        raise RuntimeError(
            f"churn_segmenter was fitted for {sorted(set(fit['model_version']))}, the scores "
            f"come from {version}: rebuild with `propensity dbt build --select churn_segmenter+`"
        )
    segmenter, stable_id, new_ids = ShapSegmenter.from_table(fit, names)

    # the scored customers' SHAP values, computed once by churn_shap_vectors: its arrays
    # follow the model's feature order, one column per feature here
    vectors = dbt.ref("churn_shap_vectors")
    stale = vectors.where(F.col("model_version") != F.lit(version)).limit(1).count()
    if stale:
        raise RuntimeError(
            f"churn_shap_vectors explains another model than {version}, the one that scores: "
            "rebuild with `propensity dbt build --select churn_shap_vectors+`"
        )
    position = {name: i for i, name in enumerate(classifier.feature_names_)}
    scored = vectors.select(
        "customer_id",
        "as_of_month",
        "model_version",
        *(F.col("shap_values")[position[name]].alias(name) for name in names),
    )

    window = dbt.ref("churn_training_set").where(F.col("dataset_split") == "validation")
    limit = int(dbt.config.get("max_backtest_rows"))
    rows = window.count()
    if rows > limit:  # deterministic whatever the partitioning: a seeded hash of the keys
        bucket = F.pmod(
            F.xxhash64(F.lit(int(dbt.config.get("random_state"))), "customer_id", "as_of_month"),
            F.lit(1_000_000),
        )
        window = window.where(bucket < F.lit(int(limit / rows * 1_000_000)))
    backtest = shap_wide(
        window,
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
    # sticky: a scored customer keeps last build's segment while at least keep_share of
    # their nearest fit neighbours still hold it (the live table stays readable while this
    # one is built under a staging name: macros/materializations/table_swap.sql)
    if session.catalog.tableExists(str(dbt.this)):
        previous = (
            session.table(str(dbt.this))
            .where(F.col("population") == "scored")
            .select("customer_id", "population", F.col("segment_id").alias("previous_segment"))
        )
    else:
        previous = session.createDataFrame(
            [], "customer_id string, population string, previous_segment int"
        )
    both = both.join(previous, ["customer_id", "population"], "left")
    keep_share = float(dbt.config.get("keep_share"))
    review_months = int(dbt.config.get("segment_review_months"))
    scored_month = dbt.ref("churn_scores").agg(F.max("as_of_month")).first()[0]
    is_review = scored_month is None or is_review_month(scored_month, review_months)
    log = logging.getLogger("churn_segments")
    if is_review:
        log.info(
            "segment membership reviewed for %s: a customer keeps last build's segment while "
            "%.0f%% of their nearest neighbours hold it",
            scored_month,
            100 * keep_share,
        )
    else:
        log.info(
            "segment membership held for %s (reviewed every %d months): customers keep last "
            "build's segment; is_segment_held marks those the next review would move",
            scored_month,
            review_months,
        )
    fitted = ship(session, (segmenter, stable_id, new_ids))

    def assign(batches):
        model, ids, fresh = fitted.value
        label_of = {segment: label for label, segment in ids.items()}
        for batch in batches:
            if batch.empty:
                continue
            previous = [
                label_of.get(int(x), -1) if pd.notna(x) else -1 for x in batch["previous_segment"]
            ]
            label, position = model.assign(batch[names].to_numpy(), previous, keep_share)
            held = np.zeros(len(label), dtype=bool)
            if not is_review:  # between reviews: last build's segment, while it exists
                label, held = hold_between_reviews(label, previous, model.classifier_.classes_)
            segment = np.array([ids[int(x)] for x in label], dtype=np.int32)
            yield pd.DataFrame(
                {
                    "customer_id": batch["customer_id"],
                    "model_version": batch["model_version"],
                    "population": batch["population"],
                    "segment_id": segment,
                    "is_new_segment": np.isin(segment, list(fresh)),
                    "is_segment_held": held,
                    "embedding_x": position[:, 0].astype(float),
                    "embedding_y": position[:, 1].astype(float),
                    LABEL_COLUMN: batch[LABEL_COLUMN],
                    "as_of_month": batch["as_of_month"],
                }
            )

    schema = (
        "customer_id string, model_version string, population string, segment_id int, "
        "is_new_segment boolean, is_segment_held boolean, embedding_x double, embedding_y double, "
        f"{LABEL_COLUMN} boolean, as_of_month date"
    )
    return both.mapInPandas(assign, schema)
