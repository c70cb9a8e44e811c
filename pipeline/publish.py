"""Publish the scored marts for readers outside Spark, switching versions atomically.

dbt overwrites a table by deleting and rewriting its files, so a reader outside Spark could
see half a table mid-build. ``publish`` copies the serving marts with Spark into a new
version folder ``<serving>/versions/<id>/``, writes its ``manifest.json`` last, and then
replaces the ``CURRENT`` pointer file with ``os.replace`` (atomic on POSIX). Readers follow
``CURRENT`` and so only ever see a complete version.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from serving.index import build_index
from serving.layout import (
    KEEP_VERSIONS,
    MANIFEST_FILE,
    POINTER_FILE,
    SCORING_DIR,
    SCORING_EVIDENCE_FILE,
    SCORING_FACTS_FILE,
    SCORING_MODEL_FILE,
    TABLE_SCHEMA_SUFFIX,
    TABLES,
    VERSIONS_DIR,
    version_problem,
)

log = logging.getLogger(__name__)


def publish(spark, serving_dir: Path, schema: str = "analytics", keep: int = KEEP_VERSIONS) -> dict:
    """Copy the serving marts to a new version and point CURRENT at it; return the manifest."""
    from pyspark.sql import functions as F

    serving_dir = Path(serving_dir)
    version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = serving_dir / VERSIONS_DIR / version
    counts: dict[str, int] = {}
    for name, mart in TABLES.items():
        suffix = TABLE_SCHEMA_SUFFIX.get(name)
        table = f"{schema}_{suffix}.{mart}" if suffix else f"{schema}.{mart}"
        if not spark.catalog.tableExists(table):
            raise RuntimeError(
                f"{table} does not exist: run `propensity run` (or `dbt build`) before publishing"
            )
        df = spark.table(table)
        df.write.mode("error").parquet(str(target / name))
        counts[name] = spark.read.parquet(str(target / name)).count()
    customers = spark.read.parquet(str(target / "customers"))
    summary = customers.agg(
        F.max("as_of_month").alias("as_of_month"), F.max("model_version").alias("model_version")
    ).first()

    # The API's index is built in Python, without Spark (pyarrow and SQLite; from 100,000
    # customers in worker processes, serving/index.py), while Spark gathers the scoring
    # facts (a read of the scored month's features): the two overlap instead of taking
    # turns. At 1,000,000 customers (399,623 scored) the index took 10.5-11.1 s alone,
    # against 18.7-19.6 s in one process with SQLite's default 4 KB pages.
    def index_version() -> dict[str, int]:
        started = time.monotonic()
        index = build_index(target)
        log.info(
            "indexed %s customers for the API in %.1fs",
            f"{index['customers']:,}",
            time.monotonic() - started,
        )
        return index

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index") as pool:
        indexing = pool.submit(index_version)
        scoring = publish_scoring(spark, target, schema, str(summary["as_of_month"]))
        index = indexing.result()
    manifest = {
        "version": version,
        "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "schema": schema,
        "tables": TABLES,
        "row_counts": counts,
        "index": index,
        "scoring": scoring,
        "as_of_month": str(summary["as_of_month"]),
        "model_version": summary["model_version"],
    }
    (target / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    switch_current(serving_dir, version)
    prune(serving_dir, keep)
    log.info("published %s: %s", version, ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return manifest


def publish_scoring(spark, target: Path, schema: str, as_of_month: str) -> dict:
    """Write what real-time scoring needs into a version: the scoring model (the registry
    artifact's model that produced the published scores, as JSON), the score cut points of
    the risk bands, and each feature's observed range at the scored month (what the API
    accepts). Returns the manifest's ``scoring`` entry."""
    from pyspark.sql import functions as F

    from ml.spark_jobs import load_current_model_with_record

    version, model, record = load_current_model_with_record(
        spark.table(f"{schema}.churn_model_registry")
    )
    scores = spark.table(f"{schema}.churn_scores")
    cuts = {
        row["risk_band"]: row["from_margin"]
        for row in scores.groupBy("risk_band")
        .agg(F.min("churn_score_margin").alias("from_margin"))
        .collect()
    }
    features = model.feature_names_
    month = spark.table(f"{schema}.customer_features_monthly").where(
        F.col("as_of_month") == F.lit(as_of_month).cast("date")
    )
    stats = month.agg(
        F.count(F.lit(1)).alias("rows"),
        *[F.min(F.col(f).cast("double")).alias(f"min__{f}") for f in features],
        *[F.max(F.col(f).cast("double")).alias(f"max__{f}") for f in features],
        *[F.count(F.col(f)).alias(f"known__{f}") for f in features],
    ).first()
    folder = target / SCORING_DIR
    folder.mkdir(parents=True, exist_ok=False)
    (folder / SCORING_MODEL_FILE).write_bytes(model.to_bytes())
    facts = {
        "model_version": version,
        "algorithm": model.algorithm,
        "as_of_month": as_of_month,
        # a margin at or above a band's cut point gets that band (highest first)
        "risk_band_cuts": [
            {"risk_band": band, "from_margin": cuts[band]}
            for band in ("high", "medium")
            if cuts.get(band) is not None
        ],
        "features": [
            {
                "name": f,
                "observed_min": stats[f"min__{f}"],
                "observed_max": stats[f"max__{f}"],
                "nullable": stats[f"known__{f}"] < stats["rows"],
            }
            for f in features
        ],
    }
    (folder / SCORING_FACTS_FILE).write_text(json.dumps(facts, indent=2))
    # the scoring model's training record, for the reports (serving/reports.py)
    (folder / SCORING_EVIDENCE_FILE).write_text(json.dumps(record, indent=2, default=str))
    return {"model_version": version, "features": len(features)}


def switch_current(serving_dir: Path, version: str) -> None:
    """Atomically point CURRENT at ``version``."""
    staging = serving_dir / f".{POINTER_FILE}.{os.getpid()}"
    staging.write_text(version + "\n")
    os.replace(staging, serving_dir / POINTER_FILE)


def prune(serving_dir: Path, keep: int) -> None:
    """Keep the newest ``keep`` complete versions and the current one. Incomplete versions
    never count: those older than the current one are leftovers of a failed publish and
    go; newer ones may still be being written and stay."""
    current = (serving_dir / POINTER_FILE).read_text().strip()
    versions = sorted(p for p in (serving_dir / VERSIONS_DIR).iterdir() if p.is_dir())
    complete = [p for p in versions if version_problem(p) is None]
    kept = {p.name for p in complete[-keep:]} | {current}
    for old in versions:
        if old.name in kept:
            continue
        if old in complete or old.name < current:
            log.info("pruning published version %s", old.name)
            shutil.rmtree(old, ignore_errors=True)
