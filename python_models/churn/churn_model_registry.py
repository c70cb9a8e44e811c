"""Train the churn model, compare it with the baselines, calibrate it, and register it.

One row per training run (incremental append). Training uses the rows of
``churn_training_set``: at most about ``max_training_rows``, a seeded hash sample of the
labelled rows drawn in Spark (its fraction is recorded). The version id is a hash of them,
the features, the definition and the search settings, so re-running dbt on unchanged data
adds no row and writes no artifact. The method is in ``ml/training.py``; this model is its
Spark and registry edge.

Champion and challenger: each row's XGBoost model is the challenger. It is promoted only when
it beats the RFM logistic regression out of time; otherwise the previous champion keeps
scoring, or, with none, this run's RFM regression scores. ``scoring_model_version`` and
``scoring_algorithm`` of the newest row say which model scores today, and
``promotion_decision`` says why.
"""

import json
import logging
from datetime import datetime, timezone

log = logging.getLogger("churn_model_registry")

SCHEMA = (
    "model_version string, model_name string, algorithm string, artifact_uri string, "
    "churn_definition string, feature_names string, params string, "
    "calibration_method string, scoring_model_version string, scoring_algorithm string, "
    "promotion_decision string, validation_metrics_by_month string, "
    "reliability_table string, search_log string, data_fingerprint string, "
    "horizon_months int, training_rows bigint, gap_rows bigint, validation_rows bigint, "
    "refit_rows bigint, training_positive_rate double, validation_positive_rate double, "
    "roc_auc double, pr_auc double, log_loss double, expected_calibration_error double, "
    "top_decile_lift double, train_roc_auc double, recency_roc_auc double, "
    "recency_pr_auc double, recency_log_loss double, rfm_roc_auc double, "
    "rfm_pr_auc double, rfm_log_loss double, best_iteration int, search_candidates int, "
    "training_sample_fraction double, is_promoted boolean, train_start_month date, "
    "train_end_month date, validation_start_month date, validation_end_month date, "
    "trained_at timestamp"
)


def _comparison(metadata: dict) -> str:
    lines = [f"{'':<34}{'ROC AUC':>9}{'PR AUC':>9}{'log loss':>10}"]
    for name, label in (
        ("model", "XGBoost (calibrated)"),
        ("rfm", "RFM logistic regression"),
        ("recency", "recency rule"),
    ):
        m = metadata["metrics"][name]
        lines.append(f"{label:<34}{m['roc_auc']:>9.4f}{m['pr_auc']:>9.4f}{m['log_loss']:>10.4f}")
    for month in metadata["validation_metrics_by_month"]:
        flag = "  (flagged: one class only)" if month["is_flagged"] else ""
        auc = month["model_roc_auc"]
        lines.append(
            f"  {month['as_of_month']}: {month['rows']:,} rows, {month['positives']:,} churners, "
            f"ROC AUC {'n/a' if auc is None else f'{auc:.4f}'}{flag}"
        )
    return "\n".join(lines)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="append_new_columns",
        random_state=42,
        # hyperparameter search: at most this many settings, within this many seconds
        max_candidates=6,
        search_budget_seconds=300,
    )
    # a plain assignment: dbt finds the config keys a Python model reads by parsing its calls
    backend = dbt.config.get("training_backend")
    backend = str(backend or "local")
    if backend not in ("local", "sagemaker"):
        raise ValueError(
            f"training_backend is {backend!r}: use local (the default) or sagemaker, e.g. "
            "--vars '{training_backend: sagemaker}'"
        )
    # cpu, or cuda to train on a GPU: --vars '{device: cuda}' (checked before any work)
    device = dbt.config.get("device")
    from pyspark.sql import functions as F

    from ml.model import check_device
    from ml.scoring_model import RFM_LOGISTIC_REGRESSION, XGBOOST, artifact_to_bytes
    from ml.spark_jobs import (
        ID_COLUMNS,
        LABEL_COLUMN,
        feature_columns,
        registered_features,
        sample_fingerprint,
        version_id,
    )
    from ml.store import ModelStore
    from ml.training import (
        TrainingSettings,
        artifact_metadata,
        check_label_counts,
        train_churn_model,
    )

    # a SageMaker job trains on its own instance type; locally, the device is checked first
    device = check_device(device) if backend == "local" else "cpu"

    training = dbt.ref("churn_training_set")
    definition = dbt.ref("churn_labels").select("churn_definition", "horizon_months").first()
    if definition is None:
        raise RuntimeError("churn_labels is empty: is there any transaction in the landing zone?")
    churn_definition, horizon = definition["churn_definition"], int(definition["horizon_months"])
    # the model's inputs are the registry's: seeds/feature_dictionary.csv, is_model_input
    features = feature_columns(training, registered_features(dbt.ref("feature_dictionary")))
    settings = TrainingSettings(
        min_positives=int(dbt.config.get("min_positives")),
        max_candidates=int(dbt.config.get("max_candidates")),
        search_budget_seconds=float(dbt.config.get("search_budget_seconds")),
        random_state=int(dbt.config.get("random_state")),
        device=device,
    )
    columns = ["customer_id", "as_of_month", "dataset_split", LABEL_COLUMN, *features]
    months = (
        training.groupBy("dataset_split")
        .agg(
            F.min("as_of_month").alias("first_month"),
            F.max("as_of_month").alias("last_month"),
            F.count(F.lit(1)).alias("rows"),
            F.sum(F.col(LABEL_COLUMN).cast("int")).alias("churners"),
            F.max("sample_fraction").alias("sample_fraction"),
        )
        .collect()
    )
    span = {r["dataset_split"]: (r["first_month"], r["last_month"]) for r in months}
    # churn_training_set is the bounded sample: a hash sample exceeds its target by a few
    # standard deviations (the square root of the target) at most, never by more
    rows = sum(r["rows"] for r in months)
    limit = int(dbt.config.get("max_training_rows"))
    if rows > limit + 5 * limit**0.5 + 10:
        raise RuntimeError(
            f"churn_training_set holds {rows:,} rows, more than max_training_rows ({limit:,}) "
            "allows: it was built with other vars. Rebuild it with the same vars: "
            "`propensity dbt build --select churn_training_set+`"
        )
    # fail fast, on the training set, before anything is registered or written
    check_label_counts(
        {r["dataset_split"]: (r["rows"], r["churners"] or 0) for r in months},
        settings.min_positives,
    )
    if "train" in span and "validation" in span:
        last_train, first_valid = span["train"][1], span["validation"][0]
        gap = (first_valid.year - last_train.year) * 12 + first_valid.month - last_train.month
        if gap < horizon:  # cannot happen with churn_training_set's split; never train if it does
            raise RuntimeError(
                f"the first validation month {first_valid} is only {gap} months after the last "
                f"training month {last_train}: training labels would read the validation period"
            )
    # churn_training_set is already the bounded, deterministic sample (max_training_rows):
    # its rows identify the data, so the version is their hash (with the settings and the
    # features), taken before anything is trained
    fraction = max(float(r["sample_fraction"]) for r in months)  # one value per table
    frame = (
        training.select(*columns)
        .toPandas()
        .sort_values(list(ID_COLUMNS), kind="stable")
        .reset_index(drop=True)
    )
    data_hash = sample_fingerprint(frame, rows, fraction)
    end_month = str(span.get("validation", ("", ""))[1])
    fit_settings = {**settings.fingerprint(), "churn_definition": churn_definition}
    if backend != "local":  # a model trained elsewhere is its own version
        fit_settings["training_backend"] = backend
    if settings.device != "cpu":  # so is one trained on a GPU (its trees can differ)
        fit_settings["device"] = settings.device
    version = version_id(data_hash, fit_settings, features, end_month)

    if dbt.is_incremental:
        known = session.table(str(dbt.this)).where(F.col("model_version") == version).count()
        if known:
            log.info("model %s is already registered: nothing to train", version)
            return session.createDataFrame([], SCHEMA)

    trained_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    identity = {
        "model_version": version,
        "churn_definition": churn_definition,
        "horizon_months": horizon,
        "settings": fit_settings,
        "data_fingerprint": data_hash,
        "training_sample_fraction": fraction,
        "trained_at": trained_at.isoformat(),
    }
    if backend == "sagemaker":
        from ml.sagemaker.launcher import train_on_sagemaker

        log.info("training %s on Amazon SageMaker (%d rows)", version, len(frame))
        uri, metadata = train_on_sagemaker(frame, {**identity, "features": features}, settings)
        payload = None
    else:
        result = train_churn_model(frame, features, settings)
        metadata = artifact_metadata(result, features, **identity, decision=result.decision)
        payload = artifact_to_bytes(result.models)

    decision = metadata["decision"]
    is_promoted = bool(metadata["is_promoted"])
    scoring = (version, XGBOOST)
    if not is_promoted:
        champion = None
        if dbt.is_incremental:
            champion = (
                session.table(str(dbt.this))
                .where(F.col("is_promoted"))
                .orderBy(F.col("trained_at").desc())
                .first()
            )
        if champion is not None:
            scoring = (champion["model_version"], XGBOOST)
            decision += f"; the previous champion {champion['model_version']} keeps scoring"
        else:
            scoring = (version, RFM_LOGISTIC_REGRESSION)
            decision += "; there is no earlier champion, so the RFM logistic regression scores"
    log.info(
        "model %s (%s churn, %d-month horizon, trained %s), out-of-time validation:\n%s\n%s",
        version,
        churn_definition,
        horizon,
        backend,
        _comparison(metadata),
        decision,
    )
    if payload is not None:
        store = ModelStore(dbt.config.meta_get("model_store"))
        uri = store.save(version, payload, {**metadata, "decision": decision})
    metrics = metadata["metrics"]
    m, rfm, recency, train_ = metrics["model"], metrics["rfm"], metrics["recency"], metrics["train"]
    rows = metadata["rows"]
    row = {
        "model_version": version,
        "model_name": "churn",
        "algorithm": XGBOOST,
        "artifact_uri": uri,
        "churn_definition": churn_definition,
        "feature_names": json.dumps(features),
        "params": json.dumps({**metadata["params"], "trees": metadata["trees"]}),
        "calibration_method": metadata["calibration"]["method"],
        "scoring_model_version": scoring[0],
        "scoring_algorithm": scoring[1],
        "promotion_decision": decision,
        "validation_metrics_by_month": json.dumps(metadata["validation_metrics_by_month"]),
        "reliability_table": json.dumps(metadata["reliability_table"]),
        "search_log": json.dumps(metadata["search"]),
        "data_fingerprint": data_hash,
        "horizon_months": horizon,
        "training_rows": rows["train"],
        "gap_rows": rows["gap"],
        "validation_rows": rows["validation"],
        "refit_rows": rows["refit"],
        "training_positive_rate": train_["positive_rate"],
        "validation_positive_rate": m["positive_rate"],
        "roc_auc": m["roc_auc"],
        "pr_auc": m["pr_auc"],
        "log_loss": m["log_loss"],
        "expected_calibration_error": m["ece"],
        "top_decile_lift": m["top_decile_lift"],
        "train_roc_auc": train_["roc_auc"],
        "recency_roc_auc": recency["roc_auc"],
        "recency_pr_auc": recency["pr_auc"],
        "recency_log_loss": recency["log_loss"],
        "rfm_roc_auc": rfm["roc_auc"],
        "rfm_pr_auc": rfm["pr_auc"],
        "rfm_log_loss": rfm["log_loss"],
        "best_iteration": metadata["trees"] - 1,
        "search_candidates": len(metadata["search"]),
        "training_sample_fraction": float(fraction),
        "is_promoted": is_promoted,
        "train_start_month": span["train"][0],
        "train_end_month": span["train"][1],
        "validation_start_month": span["validation"][0],
        "validation_end_month": span["validation"][1],
        "trained_at": trained_at,
    }
    names = [field.split()[0] for field in SCHEMA.split(", ")]
    return session.createDataFrame([tuple(row[name] for name in names)], SCHEMA)
