"""Loads follow the landing folder: a renamed copy is not loaded twice, a deleted file's rows
are reported (and removed only when asked), a restored earlier version is loaded again."""

from __future__ import annotations

import logging
import shutil

import pytest

from pipeline.ingest import SOURCES, ensure_tables, ingest_source

pytestmark = pytest.mark.spark
SCHEMA = "raw_drift_test"
HEADER = "customer_id,first_name,email,birth_date,region,customer_segment,signup_date,updated_at"


def _customers(*ids: str) -> str:
    rows = [
        f"{i},Ann,a@example.com,1980-01-01,north,mass,2024-01-01,2024-01-01 09:00:00" for i in ids
    ]
    return "\n".join([HEADER, *rows]) + "\n"


def _rows_by_file(spark) -> dict[str, int]:
    table = spark.table(f"{SCHEMA}.customers").groupBy("_source_file").count().collect()
    return {r["_source_file"]: r["count"] for r in table}


@pytest.fixture()
def folder(spark, tmp_path):
    spark.sql(f"drop database if exists {SCHEMA} cascade")
    ensure_tables(spark, schema=SCHEMA)
    (tmp_path / "customers").mkdir()
    (tmp_path / "customers" / "a.csv").write_text(_customers("A1", "A2"))
    (tmp_path / "customers" / "b.csv").write_text(_customers("B1"))
    ingest_source(spark, SOURCES["customers"], tmp_path, schema=SCHEMA)
    yield tmp_path / "customers"
    spark.sql(f"drop database if exists {SCHEMA} cascade")


def _ingest(spark, folder, **kwargs):
    return ingest_source(spark, SOURCES["customers"], folder.parent, schema=SCHEMA, **kwargs)


def test_a_renamed_copy_of_a_loaded_file_is_not_loaded_twice(spark, folder, caplog):
    shutil.copy(folder / "a.csv", folder / "a (copy).csv")
    with caplog.at_level(logging.WARNING):
        _ingest(spark, folder)
    assert _rows_by_file(spark) == {"a.csv": 2, "b.csv": 1}
    assert "a (copy).csv: same content as a.csv, already loaded: skipped" in caplog.text


def test_a_deleted_files_rows_are_kept_and_reported_until_pruned(spark, folder, caplog):
    (folder / "b.csv").unlink()
    with caplog.at_level(logging.WARNING):
        _ingest(spark, folder)
    assert _rows_by_file(spark) == {"a.csv": 2, "b.csv": 1}, "nothing is lost silently"
    assert "b.csv: loaded before but no longer in the landing folder" in caplog.text
    assert "--prune-missing" in caplog.text

    _ingest(spark, folder, prune_missing=True)
    assert _rows_by_file(spark) == {"a.csv": 2}

    (folder / "b.csv").write_text(_customers("B1"))  # put back: loads again
    _ingest(spark, folder)
    assert _rows_by_file(spark) == {"a.csv": 2, "b.csv": 1}


def test_restoring_an_earlier_version_of_a_file_loads_it_again(spark, folder):
    (folder / "b.csv").write_text(_customers("B1", "B2"))
    _ingest(spark, folder)
    assert _rows_by_file(spark)["b.csv"] == 2
    (folder / "b.csv").write_text(_customers("B1"))  # the first version, byte for byte
    _ingest(spark, folder)
    assert _rows_by_file(spark)["b.csv"] == 1
