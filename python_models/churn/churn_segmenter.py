"""The fitted segmenter, as a table: the fit sample's SHAP vectors, segments and positions.

UMAP + HDBSCAN are fitted on at most ``max_fit_rows`` scored customers (a seeded hash sample
of customer ids, sorted, so the same data always gives the same fit). This table keeps what
the fit produced, one row per sampled customer: the SHAP vector (one column per model
feature), the HDBSCAN label, the stable ``segment_id`` and the UMAP position, and the
segment's name and readable rule (ml.segment_rules: a surrogate tree on the customers'
feature values, with its precision, coverage and cross-validated fidelity). From it,
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
    import logging

    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F

    from ml.segment_rules import segment_names, surrogate_rules
    from ml.segments import ShapSegmenter, match_segments
    from ml.spark_jobs import ID_COLUMNS, bounded_sample, load_current_model

    log = logging.getLogger("churn_segmenter")
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

    # in words: a surrogate tree's rule per segment, on the customers' own feature values,
    # and a unique name from the segment's strongest drivers and their direction
    dictionary = dbt.ref("feature_dictionary").select("feature_name", "feature_label").collect()
    words = {row["feature_name"]: row["feature_label"] for row in dictionary}
    values = sample.loc[clustered, features].astype(float)
    rules, fidelity = surrogate_rules(values, segment[clustered], words, random_state=random_state)
    named = segment_names(values, shap[clustered], segment[clustered], words)
    log.info(
        "segments: %d, surrogate tree fidelity %.3f; %s",
        len(named),
        fidelity,
        "; ".join(f"{sid} {named[sid]!r}: {rules[sid].rule}" for sid in sorted(named)),
    )

    def per_segment(pick, dtype):
        return pd.array([pick(int(x)) if x >= 0 else None for x in segment], dtype=dtype)

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
            "segment_name": per_segment(named.get, "string"),
            "segment_rule": per_segment(lambda x: rules[x].rule, "string"),
            "rule_precision": per_segment(lambda x: rules[x].precision, "Float64"),
            "rule_coverage": per_segment(lambda x: rules[x].coverage, "Float64"),
            "surrogate_fidelity": per_segment(lambda x: fidelity, "Float64"),
        }
    )
    fit = pd.concat([fit, shap.reset_index(drop=True).astype(float)], axis=1)
    schema = (
        "customer_id string, as_of_month date, model_version string, fit_label int, "
        "segment_id int, is_new_segment boolean, embedding_x double, embedding_y double, "
        "segment_name string, segment_rule string, rule_precision double, "
        "rule_coverage double, surrogate_fidelity double, "
        + ", ".join(f"`{name}` double" for name in names)
    )
    return session.createDataFrame(fit, schema=schema)
