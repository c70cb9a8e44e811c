"""The Spark edge of the ML code: training-sample collection, scoring and SHAP in Spark.

Scoring (``mapInPandas``) and SHAP (``mapInArrow``) run over partitions with the serialised
model broadcast once; nothing but bounded samples and one-row summaries ever reaches the driver.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from functools import partial

import numpy as np
import pandas as pd

from ml.scoring_model import ScoringModel, artifact_from_bytes

log = logging.getLogger(__name__)

ID_COLUMNS = ("customer_id", "as_of_month")
# columns of customer_features_monthly that are not model inputs
NON_FEATURE_COLUMNS = {
    "customer_id",
    "region",
    "customer_segment",
    "as_of_month",
    "indicator_month",
    "latest_event_at",
    "is_churned_within_horizon",
    "dataset_split",
    "sample_fraction",
}
LABEL_COLUMN = "is_churned_within_horizon"


def feature_columns(df, allowed: list[str] | None = None) -> list[str]:
    """Numeric model inputs of a feature/training DataFrame, in table order; with
    ``allowed`` (the feature registry, seed feature_dictionary) only those. A registered
    feature missing from the table is an error: the registry and the SQL disagree."""
    numeric = ("int", "bigint", "double", "float", "smallint", "tinyint", "decimal")
    candidates = [
        name
        for name, dtype in df.dtypes
        if name not in NON_FEATURE_COLUMNS and dtype.startswith(numeric)
    ]
    if allowed is None:
        return candidates
    missing = sorted(set(allowed) - set(candidates))
    if missing:
        raise ValueError(
            f"feature_dictionary lists model inputs that the feature table lacks (or holds "
            f"as non-numbers): {', '.join(missing)}. Add them to customer_features_monthly "
            "or set is_model_input to false in seeds/feature_dictionary.csv."
        )
    return [name for name in candidates if name in set(allowed)]


def registered_features(feature_dictionary) -> list[str]:
    """Model inputs of the feature registry (the small seed feature_dictionary)."""
    rows = feature_dictionary.where("is_model_input").select("feature_name").collect()
    return [row.feature_name for row in rows]


def scored_features(features, scores):
    """The feature rows of the scored customers (churn_scores: one as_of_month).

    The features are filtered to the scores' months first, as literal values: Spark hands
    them to Parquet, whose page statistics skip the other months (customer_features_monthly
    is sorted by as_of_month within each file), before the join with the scores. A join
    alone reads every month of every feature column."""
    from pyspark.sql import functions as F

    months = [row[0] for row in scores.select("as_of_month").distinct().collect()]
    return features.where(F.col("as_of_month").isin(months)).join(
        scores.select(*ID_COLUMNS), list(ID_COLUMNS)
    )


def sample_fingerprint(frame: pd.DataFrame, total_rows: int, fraction: float) -> str:
    """Content hash of what a model is trained on: the bounded sample's rows (in their
    deterministic order), its columns, and the size and fraction of the set it was drawn
    from. Training sees only the sample, so the same sample gives the same model; hashing it
    in pandas replaces a hash of every value of the whole training set in Spark (a full
    scan of the widest table, about 7 s at 200,000 customers)."""
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.sha256(json.dumps([list(frame.columns), total_rows, fraction]).encode())
    digest.update(rows.tobytes())
    return digest.hexdigest()[:16]


def bounded_sample(
    df, max_rows: int, seed: int, keys: tuple[str, ...] = ID_COLUMNS
) -> tuple[pd.DataFrame, float]:
    """Collect at most about ``max_rows`` rows; return them, sorted by ``keys``, and the
    fraction sampled.

    Deterministic whatever the partitioning or task order: a row is kept when a seeded hash
    of its keys falls below the fraction (not ``DataFrame.sample``, whose draw depends on how
    rows are laid out in partitions), and the collected rows are sorted by the keys, so the
    same data always gives the same sample in the same order (UMAP, HDBSCAN and k-NN ties
    depend on row order).
    """
    from pyspark.sql import functions as F

    total = df.count()
    fraction = 1.0 if total <= max_rows else max_rows / total
    sampled = df
    if fraction < 1.0:
        bucket = F.pmod(F.xxhash64(F.lit(seed), *[F.col(k) for k in keys]), F.lit(1_000_000))
        sampled = df.where(bucket < F.lit(int(fraction * 1_000_000)))
    frame = sampled.toPandas()
    return frame.sort_values(list(keys), kind="stable").reset_index(drop=True), fraction


class _Shipped:
    """A value carried inside the pickled task function (Spark Connect has no broadcast)."""

    def __init__(self, value) -> None:
        self.value = value


def ship(spark, value):
    """Send a read-only value to every task once: a broadcast on classic Spark; on Spark
    Connect, which has no SparkContext, the value travels inside the pickled function."""
    try:
        context = spark.sparkContext
    except (AttributeError, NotImplementedError):
        return _Shipped(value)
    return context.broadcast(value)


def _model_from_broadcast(payload) -> ScoringModel:
    return ScoringModel.from_bytes(payload.value)


def score(df, model: ScoringModel, spark, model_version: str):
    """customer_id, as_of_month, model_version, churn_probability (calibrated) and
    churn_score_margin (the log-odds SHAP values add up to) for every row (mapInPandas)."""
    from pyspark.sql.types import DoubleType, StringType, StructField

    payload = ship(spark, model.to_bytes())
    features = model.feature_names_
    keep = list(ID_COLUMNS)
    schema = df.select(*keep).schema
    for name, dtype in (
        ("model_version", StringType()),
        ("churn_probability", DoubleType()),
        ("churn_score_margin", DoubleType()),
    ):
        schema = schema.add(StructField(name, dtype))

    def score_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        booster = _model_from_broadcast(payload)
        for batch in batches:
            out = batch[keep].copy()
            out["model_version"] = model_version
            margin = booster.predict_margin(batch)
            out["churn_score_margin"] = margin.astype(float)
            out["churn_probability"] = booster.calibrate(margin).astype(float)
            yield out

    return df.select(*keep, *features).mapInPandas(score_partition, schema)


def _rows_of(offsets, flat, **options):
    """An Arrow list array: ``flat`` (one row's elements after another) cut at ``offsets``."""
    import pyarrow as pa

    return pa.ListArray.from_arrays(offsets, pa.array(flat, **options))


def shap_vectors(df, model: ScoringModel, spark, model_version: str, device: str = "cpu"):
    """Exact TreeSHAP per row as three aligned arrays (mapInArrow): the model's feature
    names, the row's feature values (null where missing) and their SHAP values, with the
    base value, and ``driver_order``: the features' positions in the arrays, largest SHAP
    value first (ties by feature name), so top drivers need no sort in SQL. One row per
    input row; the long form (one row per feature) is the view churn_shap_values.

    The arrays are built as Arrow lists straight from the flat NumPy results (one offsets
    buffer shared by all four), not as a pandas column of per-row arrays. ``device``: cpu,
    or cuda (checked by ml.model.check_device) for XGBoost's GPUTreeShap in each task."""
    import pyarrow as pa

    payload = ship(spark, model.to_bytes())
    features = model.feature_names_
    schema = (
        "customer_id string, model_version string, feature_names array<string>, "
        "feature_values array<double>, shap_values array<double>, driver_order array<int>, "
        "base_value double, as_of_month date"
    )
    # each feature's place in name order, the tie-break between equal SHAP values
    name_rank = np.argsort(np.argsort(np.array(features, dtype=object), kind="stable"))

    def explain_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        booster = _model_from_broadcast(payload).use_device(device)
        names = np.array(features, dtype=object)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            frame = batch.to_pandas()
            values, base = booster.shap_values(frame)
            n, k = values.shape
            observed = frame[features].astype(float).to_numpy()
            # lexsort: the last key sorts first (SHAP descending), then the name's rank
            order = np.lexsort((np.broadcast_to(name_rank, values.shape), -values), axis=1)
            offsets = pa.array(np.arange(0, (n + 1) * k, k, dtype=np.int32))
            listed = partial(_rows_of, offsets)
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column("customer_id"),
                    pa.array(np.full(n, model_version, dtype=object), pa.string()),
                    listed(np.tile(names, n), type=pa.string()),
                    # from_pandas: NaN (a missing value) becomes null, as in the feature table
                    listed(observed.reshape(-1), from_pandas=True),
                    listed(values.astype(float).reshape(-1)),
                    listed(order.astype(np.int32).reshape(-1)),
                    pa.array(np.asarray(base, dtype=float)),
                    batch.column("as_of_month"),
                ],
                names=[
                    "customer_id",
                    "model_version",
                    "feature_names",
                    "feature_values",
                    "shap_values",
                    "driver_order",
                    "base_value",
                    "as_of_month",
                ],
            )

    return df.select(*ID_COLUMNS, *features).mapInArrow(explain_partition, schema)


def shap_wide(df, model: ScoringModel, spark, keep: tuple[str, ...] = ()):
    """Exact TreeSHAP as one column per feature (mapInPandas); ``keep`` columns pass through."""
    from pyspark.sql.types import DoubleType, StructField, StructType

    payload = ship(spark, model.to_bytes())
    features = model.feature_names_
    ids = [*ID_COLUMNS, *keep]
    passthrough = df.select(*ids).schema
    schema = StructType(
        [*passthrough.fields, *(StructField(name, DoubleType()) for name in features)]
    )

    def explain_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        booster = _model_from_broadcast(payload)
        for batch in batches:
            if batch.empty:
                continue
            values, _ = booster.shap_values(batch)
            out = pd.DataFrame(values.astype(float), columns=features)
            for position, name in enumerate(ids):
                out.insert(position, name, batch[name].to_numpy())
            yield out

    return df.select(*ids, *features).mapInPandas(explain_partition, schema)


def percentile_expression(df, column: str, relative_error: float = 1e-4):
    """A Column giving each row's percentile (1-100) of ``column``, from approximate cut points.

    Cut points come from ``approxQuantile`` (99 numbers to the driver), so no global sort or
    single-partition window is needed.
    """
    from pyspark.sql import functions as F

    cuts = df.approxQuantile(column, [i / 100 for i in range(1, 100)], relative_error)
    if not cuts:
        return F.lit(None).cast("int")
    array = F.array(*[F.lit(float(c)) for c in cuts])
    return (F.size(F.filter(array, lambda cut: cut < F.col(column))) + 1).cast("int")


def version_id(fingerprint_: str, params: dict, features: list[str], end_month: str) -> str:
    """Deterministic model version: same data, features and params give the same version."""
    digest = hashlib.sha256(
        json.dumps([fingerprint_, params, features], sort_keys=True, default=str).encode()
    ).hexdigest()[:10]
    return f"churn-xgb-{end_month.replace('-', '')[:6]}-{digest}"


def load_current_model(registry) -> tuple[str, ScoringModel]:
    """The model that scores today: the latest registry row names it (its own XGBoost when
    promoted, else the previous champion, else its RFM logistic regression)."""
    version, model, _ = load_current_model_with_record(registry)
    return version, model


def load_current_model_with_record(registry) -> tuple[str, ScoringModel, dict]:
    """``load_current_model``, with the training record (metrics, curves, reliability) the
    model store keeps next to the artifact."""
    from ml.store import ModelStore

    latest = registry.orderBy(registry["trained_at"].desc(), registry["model_version"]).first()
    if latest is None:
        raise RuntimeError("churn_model_registry is empty: build churn_model_registry first")
    version, algorithm = latest["scoring_model_version"], latest["scoring_algorithm"]
    source = registry.where(registry["model_version"] == version).first()
    if source is None:
        raise RuntimeError(
            f"churn_model_registry names {version} as the scoring model but has no row for it; "
            "rebuild with `propensity dbt build --full-refresh --select churn_model_registry+`"
        )
    payload, record = ModelStore.load_uri(source["artifact_uri"])
    return version, artifact_from_bytes(payload)[algorithm], record
