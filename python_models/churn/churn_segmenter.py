"""The fitted segmenter, as a table: the fit sample's SHAP vectors, segments and positions.

UMAP + HDBSCAN are fitted on at most ``max_fit_rows`` scored customers (a seeded hash sample
of customer ids, sorted, so the same data always gives the same fit). This table keeps what
the fit produced, one row per sampled customer: the SHAP vector (one column per model
feature, named after it), the feature values it explains (``value__<feature>``: the
performance report's SHAP summary, the dashboard's typical values), the fit label, the
stable ``segment_id``, the UMAP position, and the segment's name and readable rule
(ml.segment_rules: a surrogate tree on the customers' feature values, with its precision,
coverage and cross-validated fidelity). From it, ``ml.segments.ShapSegmenter.from_fit``
rebuilds the segmenter that assigns any customer by nearest neighbours: churn_segments
(everyone, in Spark) and the API's ``POST /score`` (one application's customer) use the
same one.

Segments stay put across builds. Between refits they are carried forward
(ml.segments.carry_forward): the previous fit sample's customers keep their segment and map
position, with today's SHAP vectors from today's model, and newcomers to the sample join
their nearest held neighbours' segment. UMAP + HDBSCAN are refitted (ml.segments.
refit_reason) on the first build, when the model's features change, when the fit is
``segment_refit_months`` old (12), when the carried segments no longer follow the customers'
values (surrogate tree fidelity below ``min_surrogate_fidelity``, 0.7) or when asked
(--vars '{refit_segments: true}'); the fit's age and fidelity refit only in a review month
(``segment_review_months``, 3: March, June, September, December), so segments are redefined
where churn_segments reviews membership and stay put in between. Refitted segments are
matched to the previous ones (ml.segments.match_segments, Hungarian on the customers the
two fits share: a segment persists when most of its customers stay together; on centroids
in today's SHAP space when they share none). A segment that persists keeps its id and name;
a new one gets a new id.
``fitted_month`` and ``refit_reason`` say which happened.
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

    from ml.segment_rules import keep_names, segment_names, surrogate_rules
    from ml.segments import (
        VALUE_PREFIX,
        ShapSegmenter,
        carry_forward,
        is_review_month,
        match_segments,
        refit_reason,
    )
    from ml.spark_jobs import ID_COLUMNS, bounded_sample, load_current_model, scored_features

    log = logging.getLogger("churn_segmenter")
    version, classifier = load_current_model(dbt.ref("churn_model_registry"))
    features = classifier.feature_names_
    names = sorted(features)
    # the scored month's rows only (its pages alone are read: scored_features)
    population = scored_features(
        dbt.ref("customer_features_monthly"), dbt.ref("churn_scores")
    ).select(*ID_COLUMNS, *features)
    random_state = int(dbt.config.get("random_state"))
    # bounded and deterministic: a seeded hash of the customer id, sorted by it
    sample, _ = bounded_sample(
        population, int(dbt.config.get("max_fit_rows")), random_state, keys=("customer_id",)
    )

    def shap_frame(rows: pd.DataFrame) -> pd.DataFrame:
        values, _ = classifier.shap_values(rows)
        return pd.DataFrame(values, columns=features, index=rows.index)[names]

    shap = shap_frame(sample)
    scored_month = max(sample["as_of_month"])
    # segments are redefined (refitted for age or fidelity) only in a review month
    review = is_review_month(scored_month, int(dbt.config.get("segment_review_months")))

    previous = pd.DataFrame()
    held = pd.DataFrame()
    if dbt.is_incremental:
        # at most max_fit_rows rows: the previous fit, and today's features of its customers
        previous = session.table(str(dbt.this)).toPandas()
        kept = session.table(str(dbt.this)).select(
            "customer_id",
            F.coalesce("segment_id", F.lit(-1)).alias("previous_segment_id"),
            F.col("embedding_x").alias("previous_x"),
            F.col("embedding_y").alias("previous_y"),
        )
        held = population.join(kept, "customer_id").toPandas()
        held = held.sort_values("customer_id", kind="stable").reset_index(drop=True)
    reason = refit_reason(
        previous,
        held,
        names,
        scored_month,
        asked=str(dbt.config.get("refit_segments")).strip().lower() in {"true", "1", "yes"},
        refit_months=int(dbt.config.get("segment_refit_months")),
        review=review,
    )
    held_shap = shap_frame(held) if not held.empty else None

    # a surrogate tree's rule per segment, on the customers' own feature values
    dictionary = dbt.ref("feature_dictionary").select("feature_name", "feature_label").collect()
    words = {row["feature_name"]: row["feature_label"] for row in dictionary}

    def explain(segment):
        known = segment >= 0
        return surrogate_rules(
            sample.loc[known, features].astype(float),
            segment[known],
            words,
            random_state=random_state,
        )

    if reason is None:
        # carried forward: the previous fit's customers keep their segment and position
        row_of = pd.Series(np.arange(len(held)), index=held["customer_id"].to_numpy())
        segment, embedding = carry_forward(
            held_shap.to_numpy(),
            held["previous_segment_id"].to_numpy(),
            held[["previous_x", "previous_y"]].to_numpy(dtype=float),
            shap.to_numpy(),
            sample["customer_id"].map(row_of).fillna(-1).to_numpy(dtype=int),
        )
        labels = segment
        fitted_month = max(previous["fitted_month"])
        kept_share = float(sample["customer_id"].isin(row_of.index).mean())
        log.info(
            "segments carried forward from the fit of %s: %.0f%% of the sample kept their "
            "segment, newcomers joined their nearest neighbours' (refit after %s months, or "
            "now with --vars '{refit_segments: true}')",
            fitted_month,
            100 * kept_share,
            dbt.config.get("segment_refit_months"),
        )
        previous_ids = {int(x) for x in previous["segment_id"].dropna()}
        rules, fidelity = explain(segment)
        floor = float(dbt.config.get("min_surrogate_fidelity"))
        if fidelity < floor and not review:
            log.warning(
                "the carried segments follow the customers' values less well (surrogate tree "
                "fidelity %.2f < min_surrogate_fidelity %.2f): they are refitted at the next "
                "review (segment_review_months: %s), not between reviews",
                fidelity,
                floor,
                dbt.config.get("segment_review_months"),
            )
        elif fidelity < floor:
            # the SHAP space moved (a new model, new behaviour): carried segments that no
            # rule on the customers' values can tell apart are not published
            reason = (
                f"the carried segments no longer follow the customers' values (surrogate "
                f"tree fidelity {fidelity:.2f} < min_surrogate_fidelity {floor:.2f})"
            )
    if reason is not None:
        log.info("segments refitted (UMAP + HDBSCAN): %s", reason)
        segmenter = ShapSegmenter(
            min_cluster_share=float(dbt.config.get("min_cluster_share")),
            cluster_selection_method=dbt.config.get("cluster_selection_method"),
            random_state=random_state,
        ).fit(shap.to_numpy())
        labels = segmenter.fit_labels_
        embedding = segmenter.embedding_
        clustered = labels >= 0
        new_centroids = {
            int(label): rows.to_numpy(dtype=float).mean(axis=0)
            for label, rows in shap[clustered].groupby(labels[clustered])
        }
        # a previous segment's centroid: today's SHAP vectors of the customers it held
        previous_centroids = {}
        if held_shap is not None:
            was = held["previous_segment_id"].to_numpy()
            previous_centroids = {
                int(segment): rows.to_numpy(dtype=float).mean(axis=0)
                for segment, rows in held_shap[was >= 0].groupby(was[was >= 0])
            }
        # and the customers both fits hold: each one's new label and previous segment
        shared = None
        if not held.empty:
            was_in = pd.Series(
                held["previous_segment_id"].to_numpy(), index=held["customer_id"].to_numpy()
            )
            shared = (labels, sample["customer_id"].map(was_in).fillna(-1).to_numpy(dtype=int))
        stable_id = match_segments(new_centroids, previous_centroids, shared)
        segment = np.array([stable_id[int(x)] if x >= 0 else -1 for x in labels])
        fitted_month = scored_month
        previous_ids = set(previous_centroids)
        rules, fidelity = explain(segment)
    clustered = segment >= 0

    # in words: a unique name from the segment's strongest drivers and their direction
    values = sample.loc[clustered, features].astype(float)
    named = segment_names(values, shap[clustered], segment[clustered], words)
    if not previous.empty and "segment_name" in previous:
        # a segment that persists keeps its name
        earlier = previous.dropna(subset=["segment_id", "segment_name"])
        named = keep_names(
            named,
            dict(zip(earlier["segment_id"].astype(int), earlier["segment_name"], strict=True)),
        )
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
            "fit_label": np.asarray(labels).astype("int32"),
            "segment_id": pd.array(np.where(segment >= 0, segment, None), dtype="Int32"),
            "is_new_segment": pd.array(
                np.where(segment >= 0, ~np.isin(segment, list(previous_ids)), None),
                dtype="boolean",
            ),
            "embedding_x": np.asarray(embedding)[:, 0].astype(float),
            "embedding_y": np.asarray(embedding)[:, 1].astype(float),
            "segment_name": per_segment(named.get, "string"),
            "segment_rule": per_segment(lambda x: rules[x].rule, "string"),
            "rule_precision": per_segment(lambda x: rules[x].precision, "Float64"),
            "rule_coverage": per_segment(lambda x: rules[x].coverage, "Float64"),
            "surrogate_fidelity": per_segment(lambda x: fidelity, "Float64"),
            "fitted_month": fitted_month,
            "refit_reason": reason,
        }
    )
    # the SHAP vectors (named after the features) and the feature values they explain
    measured = sample[names].astype(float).reset_index(drop=True)
    measured.columns = [VALUE_PREFIX + name for name in names]
    fit = pd.concat([fit, shap.reset_index(drop=True).astype(float), measured], axis=1)
    schema = (
        "customer_id string, as_of_month date, model_version string, fit_label int, "
        "segment_id int, is_new_segment boolean, embedding_x double, embedding_y double, "
        "segment_name string, segment_rule string, rule_precision double, "
        "rule_coverage double, surrogate_fidelity double, fitted_month date, refit_reason string, "
        + ", ".join(f"`{name}` double" for name in names)
        + ", "
        + ", ".join(f"`{VALUE_PREFIX}{name}` double" for name in names)
    )
    return session.createDataFrame(fit, schema=schema)
