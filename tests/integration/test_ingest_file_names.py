"""Landing file names are data, never code: no name can drop, duplicate or hide rows.

Each name below once did damage: a quote in a name was pasted into an ALTER TABLE ... DROP
PARTITION and dropped another file's rows; a `*` was read as a glob and re-read a sibling; a
space, `%` or `#` loaded rows under a URL-encoded name that the audit then counted as 0.
"""

from __future__ import annotations

import pytest

from pipeline.ingest import SOURCES, ensure_tables, ingest_source

pytestmark = pytest.mark.spark
SCHEMA = "raw_file_name_test"
HEADER = "customer_id,first_name,email,birth_date,region,customer_segment,signup_date,updated_at"


def _customers(*ids: str) -> str:
    rows = [f"{i},Ann,{i.lower()}@example.com,1980-01-01,north,mass,2024-01-01," for i in ids]
    return "\n".join([HEADER, *[r + "2024-01-01 09:00:00" for r in rows]]) + "\n"


def _rows_by_file(spark) -> dict[str, int]:
    table = spark.table(f"{SCHEMA}.customers").groupBy("_source_file").count().collect()
    return {r["_source_file"]: r["count"] for r in table}


def _audit(spark) -> dict[str, int]:
    rows = spark.table(f"{SCHEMA}._load_audit").collect()
    return {r.file_name: r.rows_loaded for r in rows}


@pytest.fixture()
def folder(spark, tmp_path):
    spark.sql(f"drop database if exists {SCHEMA} cascade")
    ensure_tables(spark, schema=SCHEMA)
    (tmp_path / "customers").mkdir()
    (tmp_path / "customers" / "customers.csv").write_text(_customers("K1", "K2", "K3"))
    ingest_source(spark, SOURCES["customers"], tmp_path, schema=SCHEMA)
    assert _rows_by_file(spark) == {"customers.csv": 3}
    yield tmp_path / "customers"
    spark.sql(f"drop database if exists {SCHEMA} cascade")


def test_a_crafted_header_only_file_cannot_drop_another_files_rows(spark, folder):
    crafted = "customers.csv'), partition (_source_file='x.csv"
    (folder / crafted).write_text(HEADER + "\n")
    ingest_source(spark, SOURCES["customers"], folder.parent, schema=SCHEMA)
    assert _rows_by_file(spark) == {"customers.csv": 3}
    assert _audit(spark) == {"customers.csv": 3, crafted: 0}


def test_glob_characters_in_a_name_are_read_literally(spark, folder):
    (folder / "c*.csv").write_text(_customers("G1", "G2"))
    (folder / "brace{1}.csv").write_text(_customers("B1"))
    (folder / "[ab].csv").write_text(_customers("S1"))
    ingest_source(spark, SOURCES["customers"], folder.parent, schema=SCHEMA)
    assert _rows_by_file(spark) == {
        "customers.csv": 3,
        "c*.csv": 2,
        "brace{1}.csv": 1,
        "[ab].csv": 1,
    }


def test_spaces_percent_and_hash_load_under_the_real_name_and_are_audited(spark, folder):
    name = "march 100%25 #2 a+b.csv"
    (folder / name).write_text(_customers("P1", "P2"))
    ingest_source(spark, SOURCES["customers"], folder.parent, schema=SCHEMA)
    assert _rows_by_file(spark) == {"customers.csv": 3, name: 2}
    assert _audit(spark)[name] == 2


def test_a_corrected_oddly_named_file_replaces_exactly_its_own_rows(spark, folder):
    name = "o'brien #1.csv"
    (folder / name).write_text(_customers("Q1", "Q2"))
    ingest_source(spark, SOURCES["customers"], folder.parent, schema=SCHEMA)
    (folder / name).write_text(HEADER + "\n")  # corrected to empty: its rows go, no others
    ingest_source(spark, SOURCES["customers"], folder.parent, schema=SCHEMA)
    assert _rows_by_file(spark) == {"customers.csv": 3}


def test_upper_case_and_gzip_files_load_and_other_files_are_listed_as_ignored(
    spark, folder, caplog
):
    import gzip
    import logging

    (folder / "MORE.CSV").write_text(_customers("U1"))
    with gzip.open(folder / "zipped.csv.gz", "wt") as f:
        f.write(_customers("Z1", "Z2"))
    (folder / "notes.txt").write_text("not data")
    with caplog.at_level(logging.WARNING):
        ingest_source(spark, SOURCES["customers"], folder.parent, schema=SCHEMA)
    assert _rows_by_file(spark) == {"customers.csv": 3, "MORE.CSV": 1, "zipped.csv.gz": 2}
    assert _audit(spark)["zipped.csv.gz"] == 2
    assert "notes.txt: ignored, not a csv file: expected .csv (or with .gz) or .jdbc" in caplog.text


@pytest.mark.parametrize("move", [True, False], ids=["moved", "copied"])
def test_a_reloaded_oddly_named_file_replaces_its_rows_whether_moved_or_copied(
    spark, folder, monkeypatch, move
):
    """The commit moves a staged file's folder into raw.* in a classic session and copies
    the rows through Spark Connect: both leave the same rows, under the real names, and
    raw.* shows none of the staging table's columns."""
    import pipeline.ingest as ingest

    monkeypatch.setattr(ingest, "_can_move", lambda _spark: move)
    names = ["k=v 50%.csv", "it's.csv", "ü 1.csv"]
    for i, name in enumerate(names):
        (folder / name).write_text(_customers(f"M{i}", f"N{i}"))
    ingest_source(spark, SOURCES["customers"], folder.parent, schema=SCHEMA)
    (folder / names[0]).write_text(_customers("R1", "R2", "R3"))  # corrected: 3 rows now
    ingest_source(spark, SOURCES["customers"], folder.parent, schema=SCHEMA)
    assert _rows_by_file(spark) == {"customers.csv": 3, names[0]: 3, names[1]: 2, names[2]: 2}
    table = spark.table(f"{SCHEMA}.customers")
    ids = table.where(table["_source_file"] == names[0]).collect()
    assert sorted(r.customer_id for r in ids) == ["R1", "R2", "R3"]
    loads = spark.table(f"{SCHEMA}._load_audit").orderBy("loaded_at").collect()
    assert [r.rows_loaded for r in loads if r.file_name == names[0]] == [2, 3]
    assert [r.rows_loaded for r in loads if r.file_name == names[1]] == [2]
    columns = spark.table(f"{SCHEMA}.customers").columns
    assert not {"_reason", "_record", "_field_issues", "_rejected"} & set(columns)
    assert not [t for t in spark.catalog.listTables(SCHEMA) if t.name.startswith("_staging")]


def test_a_colon_in_a_name_is_refused_before_anything_loads(spark, folder):
    from pipeline.ingest import IngestError

    (folder / "export 10:30.csv").write_text(_customers("C1"))
    with pytest.raises(IngestError, match=r"export 10:30\.csv: Spark cannot read .* ':'"):
        ingest_source(spark, SOURCES["customers"], folder.parent, schema=SCHEMA)
    assert _rows_by_file(spark) == {"customers.csv": 3}
