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
from datetime import datetime, timezone
from pathlib import Path

from serving.index import build_index
from serving.layout import (
    KEEP_VERSIONS,
    MANIFEST_FILE,
    POINTER_FILE,
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
    started = datetime.now(timezone.utc)
    index = build_index(target)
    log.info(
        "indexed %s customers for the API in %.1fs",
        f"{index['customers']:,}",
        (datetime.now(timezone.utc) - started).total_seconds(),
    )
    manifest = {
        "version": version,
        "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "schema": schema,
        "tables": TABLES,
        "row_counts": counts,
        "index": index,
        "as_of_month": str(summary["as_of_month"]),
        "model_version": summary["model_version"],
    }
    (target / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    switch_current(serving_dir, version)
    prune(serving_dir, keep)
    log.info("published %s: %s", version, ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return manifest


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
