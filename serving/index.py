"""The API's key-indexed store of a published version: one SQLite file (``index.sqlite``).

Each scored customer's response is rendered to JSON once, when the version is published,
and stored under the customer id; campaign lists read the same table through indexes on
(risk band or segment, score, id). The API therefore holds no customer in memory: a lookup
is one primary-key read, and its memory does not grow with the number of customers.

SQL here is constant text; every value is a bound parameter.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

INDEX_FILE = "index.sqlite"
LIST_COLUMNS = (
    "customer_id",
    "churn_probability",
    "score_percentile",
    "risk_band",
    "segment_id",
    "segment_name",
    "top_driver",
)
_SCHEMA = """
create table customers (
    customer_id text primary key,
    churn_probability real not null,
    score_percentile integer,
    risk_band text,
    segment_id integer,
    segment_name text,
    top_driver text,
    body text not null
) without rowid;
create table unscored (
    customer_id text primary key,
    reason text,
    description text
) without rowid;
create table meta (key text primary key, value text) without rowid;
"""
_INDEXES = """
create index customers_by_score on customers (churn_probability desc, customer_id);
create index customers_by_band on customers (risk_band, churn_probability desc, customer_id);
create index customers_by_segment on customers (segment_id, churn_probability desc, customer_id);
"""


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


# every row of a version shares its month and, mostly, its scoring time: format each once
@functools.lru_cache(maxsize=256)
def _iso_date(value) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, date) else (str(value) if value else None)


@functools.lru_cache(maxsize=256)
def _iso_utc(value) -> str | None:
    """A published timestamp (UTC, stored without an offset) with its offset."""
    if not isinstance(value, datetime):
        return None
    stamp = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return stamp.isoformat()


def customer_body(row: dict) -> dict:
    """The GET /customers/{id} response of one published row (the CustomerScore schema)."""
    drivers = sorted(row.get("top_drivers") or [], key=lambda d: d["driver_rank"])
    segment_id = row.get("segment_id")
    return {
        "customer_id": row["customer_id"],
        "churn_probability": float(row["churn_probability"]),
        "score_percentile": int(row["score_percentile"]),
        "risk_band": row["risk_band"],
        "top_drivers": [
            {
                "feature": d["feature_name"],
                "description": d["feature_description"],
                "feature_value": d["feature_value"] if _present(d["feature_value"]) else None,
                "shap_value": float(d["shap_value"]),
            }
            for d in drivers
        ],
        "segment": (
            {"segment_id": int(segment_id), "name": row.get("segment_name")}
            if segment_id is not None and _present(segment_id)
            else None
        ),
        "model_version": row["model_version"],
        "as_of_month": _iso_date(row["as_of_month"]),
        "scored_at": _iso_utc(row.get("scored_at")),
    }


# Rows of a rendered response are about 0.8 KB: in SQLite's default 4 KB pages, a table
# keyed by the customer id (without rowid) kept splitting and moving them. In 16 KB pages,
# inserting 399,623 customers took 2.0 s instead of 5.7 s, and the whole index (with
# 600,379 unscored customers) was 532 MB instead of 880 MB.
PAGE_SIZE = 16_384
# Below this many customers the responses are rendered in this process: starting worker
# processes would cost more than it saves.
PARALLEL_FROM_ROWS = 100_000
_REQUIRED = (
    "customer_id",
    "churn_probability",
    "score_percentile",
    "risk_band",
    "model_version",
    "as_of_month",
)
_OPTIONAL = ("segment_id", "segment_name", "top_driver_description", "top_drivers", "scored_at")


def _render(path: str, columns: list[str], batch_rows: int) -> list[tuple]:
    """The ``customers`` rows of one Parquet file of a version, each response rendered."""
    import pyarrow.parquet as pq

    rendered = []
    for batch in pq.ParquetFile(path).iter_batches(columns=columns, batch_size=batch_rows):
        for row in batch.to_pylist():
            rendered.append(
                (
                    row["customer_id"],
                    float(row["churn_probability"]),
                    row["score_percentile"],
                    row["risk_band"],
                    row.get("segment_id"),
                    row.get("segment_name"),
                    row.get("top_driver_description"),
                    json.dumps(customer_body(row), separators=(",", ":")),
                )
            )
    return rendered


def _rendered_files(
    paths: list[str], columns: list[str], batch_rows: int, workers: int
) -> Iterator[list[tuple]]:
    """Each file's rendered rows, in file order: from ``workers`` worker processes when
    more than one (file i in worker i mod workers), so that SQLite inserts one file while
    the next ones are rendered.

    A worker is ``python -m serving.index``, reading its job as JSON on stdin and writing
    each file's rows to stdout as one pickle, in order. Unlike a multiprocessing pool, it
    never re-runs the caller's main script. If a worker fails, the files it had not sent
    are rendered here, with a warning."""
    if workers <= 1 or len(paths) <= 1:
        for path in paths:
            yield _render(path, columns, batch_rows)
        return
    import pickle
    import subprocess
    import sys

    workers = min(workers, len(paths))
    processes = []
    for w in range(workers):
        process = subprocess.Popen(
            [sys.executable, "-m", "serving.index"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        job = {"paths": paths[w::workers], "columns": columns, "batch_rows": batch_rows}
        assert process.stdin is not None
        try:
            process.stdin.write(json.dumps(job).encode())
            process.stdin.close()
        except OSError:  # it already stopped: reading its output reports that
            pass
        processes.append(process)
    failed: set[int] = set()
    try:
        for i, path in enumerate(paths):
            w = i % workers
            rows = None
            if w not in failed:
                try:
                    # our own worker's output: trusted, as a pickle must be
                    stdout = processes[w].stdout
                    assert stdout is not None
                    rows = pickle.load(stdout)  # noqa: S301
                except (EOFError, pickle.UnpicklingError) as exc:
                    failed.add(w)
                    log.warning(
                        "an API index worker stopped (%s, exit code %s): rendering its "
                        "remaining files in this process",
                        exc,
                        processes[w].wait(),
                    )
            yield rows if rows is not None else _render(path, columns, batch_rows)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _render_worker() -> None:
    """``python -m serving.index``: render the files of the job on stdin (see
    ``_rendered_files``)."""
    import pickle
    import sys

    job = json.loads(sys.stdin.read())
    for path in job["paths"]:
        rows = _render(path, job["columns"], int(job["batch_rows"]))
        pickle.dump(rows, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
        sys.stdout.buffer.flush()


def _default_workers(rows: int, files: int) -> int:
    if rows < PARALLEL_FROM_ROWS:
        return 1
    return max(1, min(os.cpu_count() or 1, files))


def build_index(
    version_root: Path, batch_rows: int = 50_000, workers: int | None = None
) -> dict[str, int]:
    """Write ``index.sqlite`` for a published version (atomically); return its row counts.

    Rendering each customer's response (Arrow rows to Python, then JSON) is most of the
    work: from ``PARALLEL_FROM_ROWS`` customers it runs in one process per core (or
    ``workers``), file by file, while this process inserts the rendered rows."""
    import pyarrow.dataset as ds

    target = version_root / INDEX_FILE
    staging = version_root / f".{INDEX_FILE}.building"
    staging.unlink(missing_ok=True)
    connection = sqlite3.connect(staging)
    try:
        # the page size must be set before the first table is created
        connection.execute(f"pragma page_size = {int(PAGE_SIZE)}")
        connection.executescript("pragma journal_mode = off; pragma synchronous = off;")
        connection.executescript(_SCHEMA)
        customers = ds.dataset(version_root / "customers", format="parquet")
        columns = list(_REQUIRED) + [c for c in _OPTIONAL if c in customers.schema.names]
        paths = sorted(customers.files)
        if workers is None:
            workers = _default_workers(customers.count_rows(), len(paths))
        scored = 0
        for rows in _rendered_files(paths, columns, batch_rows, workers):
            connection.executemany("insert into customers values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            scored += len(rows)
        unscored = 0
        coverage_dir = version_root / "coverage"
        if coverage_dir.is_dir():
            coverage = ds.dataset(coverage_dir, format="parquet")
            for batch in coverage.to_batches(
                columns=["customer_id", "unscored_reason", "unscored_reason_description"],
                filter=ds.field("unscored_reason").is_valid(),
                batch_size=batch_rows,
            ):
                rows = batch.to_pylist()
                connection.executemany(
                    "insert or replace into unscored values (?, ?, ?)",
                    (
                        (r["customer_id"], r["unscored_reason"], r["unscored_reason_description"])
                        for r in rows
                    ),
                )
                unscored += len(rows)
        connection.executescript(_INDEXES)
        counts = {"customers": scored, "unscored": unscored}
        connection.executemany(
            "insert into meta values (?, ?)", [(k, str(v)) for k, v in counts.items()]
        )
        connection.commit()
    finally:
        connection.close()
    staging.replace(target)
    return counts


def index_counts(path: Path) -> dict[str, int]:
    """The row counts an index recorded when it was built (raises on a damaged file)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {key: int(value) for key, value in connection.execute("select * from meta")}
    finally:
        connection.close()


@dataclass(frozen=True)
class ListFilter:
    """Which customers a campaign list holds."""

    risk_band: str | None = None
    segment_id: int | None = None
    min_score: float | None = None

    def where(self) -> tuple[list[str], list]:
        """Constant SQL conditions and their bound values."""
        conditions: list[str] = []
        values: list[object] = []
        if self.risk_band is not None:
            conditions.append("risk_band = ?")
            values.append(self.risk_band)
        if self.segment_id is not None:
            conditions.append("segment_id = ?")
            values.append(self.segment_id)
        if self.min_score is not None:
            conditions.append("churn_probability >= ?")
            values.append(self.min_score)
        return conditions, values


class CustomerIndex:
    """Read-only access to one version's index."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # immutable: a published version never changes, so SQLite takes no locks
        self._connection = self._connect()
        self.counts = {k: int(v) for k, v in self._connection.execute("select * from meta")}

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(
            f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )

    def lookup(self, customer_id: str) -> bytes | None:
        """The rendered response of a scored customer, or None."""
        row = self._connection.execute(
            "select body from customers where customer_id = ?", (customer_id,)
        ).fetchone()
        return row[0].encode() if row else None

    def unscored(self, customer_id: str) -> tuple[str, str] | None:
        """(reason, description) of a known customer without a score, or None."""
        row = self._connection.execute(
            "select reason, description from unscored where customer_id = ?", (customer_id,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def count(self, where: ListFilter) -> int:
        conditions, values = where.where()
        sql = "select count(*) from customers"
        if conditions:
            sql += " where " + " and ".join(conditions)
        return int(self._connection.execute(sql, values).fetchone()[0])

    def page(self, where: ListFilter, after: tuple[float, str] | None, limit: int) -> list[dict]:
        """Up to ``limit`` customers after the ``after`` position, riskiest first."""
        conditions, values = where.where()
        if after is not None:
            conditions.append(
                "(churn_probability < ? or (churn_probability = ? and customer_id > ?))"
            )
            values += [after[0], after[0], after[1]]
        sql = f"select {', '.join(LIST_COLUMNS)} from customers"
        if conditions:
            sql += " where " + " and ".join(conditions)
        sql += " order by churn_probability desc, customer_id limit ?"
        rows = self._connection.execute(sql, [*values, limit]).fetchall()
        return [dict(zip(LIST_COLUMNS, row, strict=True)) for row in rows]

    def rows(self, where: ListFilter, chunk: int = 10_000) -> Iterator[list[tuple]]:
        """Every matching customer, riskiest first, in chunks (its own connection: CSV
        downloads stream from a worker thread)."""
        conditions, values = where.where()
        sql = f"select {', '.join(LIST_COLUMNS)} from customers"
        if conditions:
            sql += " where " + " and ".join(conditions)
        sql += " order by churn_probability desc, customer_id"
        connection = self._connect()
        try:
            cursor = connection.execute(sql, values)
            while batch := cursor.fetchmany(chunk):
                yield batch
        finally:
            connection.close()


if __name__ == "__main__":
    _render_worker()
