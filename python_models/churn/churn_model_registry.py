"""Train the XGBoost churn model and register it: one row per model version.

Incremental (append): a version id is a hash of the training data, features and parameters,
so re-running dbt on unchanged data adds no row and writes no new artifact. Training uses
at most ``max_training_rows`` rows sampled in Spark; the fraction is recorded.
"""

import json
from datetime import datetime, timezone
from pathlib import Path


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="append",
        max_training_rows=200000,
        random_state=42,
    )
    from pyspark.sql import functions as F

    from ml.spark_jobs import LABEL_COLUMN, bounded_sample, feature_columns, fingerprint, version_id
    from ml.store import ModelStore
    from ml.training import train_churn_model

    training = dbt.ref("churn_training_set")
    features = feature_columns(training)
    random_state = int(dbt.config.get("random_state"))
    params = {"random_state": random_state}
    data_hash = fingerprint(training, ["customer_id", "as_of_month", LABEL_COLUMN, *features])
    months = (
        training.groupBy("dataset_split")
        .agg(F.min("as_of_month").alias("first_month"), F.max("as_of_month").alias("last_month"))
        .collect()
    )
    span = {r["dataset_split"]: (str(r["first_month"]), str(r["last_month"])) for r in months}
    version = version_id(data_hash, params, features, span.get("validation", ("", ""))[1])

    schema = (
        "model_version string, model_name string, algorithm string, artifact_uri string, "
        "feature_names string, params string, training_rows bigint, validation_rows bigint, "
        "training_positive_rate double, validation_positive_rate double, roc_auc double, "
        "pr_auc double, log_loss double, top_decile_lift double, train_roc_auc double, "
        "training_sample_fraction double, data_fingerprint string, train_start_month date, "
        "train_end_month date, validation_start_month date, validation_end_month date, "
        "trained_at timestamp"
    )
    if dbt.is_incremental:
        known = session.table(str(dbt.this)).where(F.col("model_version") == version).count()
        if known:
            return session.createDataFrame([], schema)

    frame, fraction = bounded_sample(
        training.select("customer_id", "as_of_month", "dataset_split", LABEL_COLUMN, *features),
        int(dbt.config.get("max_training_rows")),
        random_state,
    )
    classifier, metrics = train_churn_model(frame, features, params=params)
    store = ModelStore(Path(dbt.config.get("model_store")).resolve())
    trained_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    uri = store.save(
        version,
        classifier.to_bytes(),
        {
            "model_version": version,
            "features": features,
            "params": params,
            "metrics": metrics,
            "data_fingerprint": data_hash,
            "training_sample_fraction": fraction,
            "trained_at": trained_at.isoformat(),
        },
    )
    valid, train = metrics["validation"], metrics["train"]
    row = (
        version,
        "churn",
        "xgboost",
        uri,
        json.dumps(features),
        json.dumps(params),
        train["rows"],
        valid["rows"],
        train["positive_rate"],
        valid["positive_rate"],
        valid["roc_auc"],
        valid["pr_auc"],
        valid["log_loss"],
        valid["top_decile_lift"],
        train["roc_auc"],
        float(fraction),
        data_hash,
        *[datetime.fromisoformat(d).date() for d in span["train"] + span["validation"]],
        trained_at,
    )
    return session.createDataFrame([row], schema)
