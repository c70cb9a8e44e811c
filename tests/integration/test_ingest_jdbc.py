"""A database table as a source, over JDBC against the real PostgreSQL on this machine.

The table loads like a file: explicit schema, quarantine with reasons, audit, skipped when
unchanged, replaced as a whole snapshot when it changes.
"""

from __future__ import annotations

import pytest

from pipeline.ingest import SOURCES, IngestError, ensure_tables, ingest_source
from pipeline.jdbc import driver_jars

pytestmark = pytest.mark.spark
SCHEMA = "raw_jdbc_test"
URL = "jdbc:postgresql://127.0.0.1:5432/test"
TABLE = "public.propensity_test_crm_customers"
COLUMNS = "customer_id string, first_name string, email string, birth_date string, "
COLUMNS += "region string, customer_segment string, signup_date string, updated_at string"


def _write_table(spark, rows):
    frame = spark.createDataFrame(rows, COLUMNS)
    frame.write.format("jdbc").options(url=URL, dbtable=TABLE, user="postgres").mode(
        "overwrite"
    ).save()


def _row(customer_id, signup="2024-01-01"):
    return (
        customer_id,
        "Ann",
        "a@example.com",
        "1980-01-01",
        "north",
        "mass",
        signup,
        "2024-01-01 09:00:00",
    )


@pytest.fixture()
def landing(spark, tmp_path):
    if not driver_jars():
        pytest.skip(
            "no PostgreSQL JDBC driver: `make jdbc` (apt-get install libpostgresql-jdbc-java)"
        )
    spark.sql(f"drop database if exists {SCHEMA} cascade")
    ensure_tables(spark, schema=SCHEMA)
    (tmp_path / "customers").mkdir()
    (tmp_path / "customers" / "crm.jdbc").write_text(
        f"url: {URL}\ntable: {TABLE}\nuser: postgres\n"
    )
    yield tmp_path
    spark.sql(f"drop database if exists {SCHEMA} cascade")


def _ingest(spark, landing):
    # half the first table is bad on purpose
    return ingest_source(
        spark, SOURCES["customers"], landing, schema=SCHEMA, max_rejected_share=1.0
    )


def test_a_database_table_loads_with_quarantine_and_audit(spark, landing):
    _write_table(spark, [_row("D1"), _row("D2"), _row("D3", signup="not-a-date"), _row(None)])
    _ingest(spark, landing)
    loaded = spark.table(f"{SCHEMA}.customers").collect()
    assert sorted(r.customer_id for r in loaded) == ["D1", "D2"]
    assert {r._source_file for r in loaded} == {"crm.jdbc"}
    reasons = sorted(r.reason for r in spark.table(f"{SCHEMA}._quarantine").collect())
    assert reasons == [
        "field 'signup_date': 'not-a-date' is not a valid date",
        "missing required field 'customer_id'",
    ]
    (audit,) = spark.table(f"{SCHEMA}._load_audit").collect()
    assert (audit.file_name, audit.rows_read, audit.rows_loaded) == ("crm.jdbc", 4, 2)


def test_an_unchanged_table_is_skipped_and_a_changed_one_replaces_its_snapshot(spark, landing):
    _write_table(spark, [_row("D1"), _row("D2")])
    _ingest(spark, landing)
    assert [r.status for r in _ingest(spark, landing)] == ["skipped"]
    _write_table(spark, [_row("D2"), _row("D4"), _row("D5")])
    _ingest(spark, landing)
    ids = sorted(r.customer_id for r in spark.table(f"{SCHEMA}.customers").collect())
    assert ids == ["D2", "D4", "D5"]


def test_a_password_in_the_pointer_file_is_refused(spark, landing):
    (landing / "customers" / "crm.jdbc").write_text(
        f"url: {URL}\ntable: {TABLE}\nuser: postgres\npassword: hunter2\n"
    )
    with pytest.raises(IngestError, match=r"crm\.jdbc: holds a password.*password_env"):
        _ingest(spark, landing)


def test_a_missing_table_is_named_with_what_to_check(spark, landing):
    (landing / "customers" / "crm.jdbc").write_text(
        f"url: {URL}\ntable: public.no_such_table\nuser: postgres\n"
    )
    with pytest.raises(IngestError, match=r"cannot read table public\.no_such_table"):
        _ingest(spark, landing)


def test_a_table_name_that_is_not_an_identifier_is_refused(spark, landing):
    (landing / "customers" / "crm.jdbc").write_text(
        f"url: {URL}\ntable: 'x; drop table y'\nuser: postgres\n"
    )
    with pytest.raises(IngestError, match="plain .* table name"):
        _ingest(spark, landing)


def test_a_watermark_loads_only_new_rows_and_keeps_the_earlier_ones(spark, landing):
    (landing / "customers" / "crm.jdbc").write_text(
        f"url: {URL}\ntable: {TABLE}\nuser: postgres\nwatermark: updated_at\n"
    )
    first = [_row("D1"), _row("D2"), _row("D3")]
    _write_table(spark, first)
    _ingest(spark, landing)
    # D2 changes (a newer version) and D4 arrives; the table keeps its old rows
    changed = (
        "D2",
        "Bea",
        "b@example.com",
        "1980-01-01",
        "south",
        "mass",
        "2024-01-01",
        "2024-02-01 09:00:00",
    )
    new = (
        "D4",
        "Cy",
        "c@example.com",
        "1980-01-01",
        "east",
        "mass",
        "2024-02-01",
        "2024-02-01 10:00:00",
    )
    spark.createDataFrame([changed, new], COLUMNS).write.format("jdbc").options(
        url=URL, dbtable=TABLE, user="postgres"
    ).mode("append").save()
    _ingest(spark, landing)
    raw = spark.table(f"{SCHEMA}.customers").collect()
    assert sorted(r.customer_id for r in raw) == ["D1", "D2", "D2", "D3", "D4"]
    audit = sorted(spark.table(f"{SCHEMA}._load_audit").collect(), key=lambda r: r.loaded_at)
    assert [a.rows_read for a in audit] == [3, 2], "the second load read only the new rows"
    assert [r.status for r in _ingest(spark, landing)] == ["skipped"], "nothing new: skipped"


def test_a_shared_connection_and_a_key_partitioned_read(spark, landing):
    from pipeline.jdbc import JdbcSpec, read_as_text

    _write_table(spark, [_row(f"D{i}") for i in range(1, 8)])
    (landing / "db_connections.yml").write_text(
        f"connections:\n  crm:\n    url: {URL}\n    user: postgres\n"
    )
    pointer = landing / "customers" / "crm.jdbc"
    pointer.write_text(f"connection: crm\ntable: {TABLE}\nkey: customer_id\npartitions: 3\n")
    spec = JdbcSpec.read(pointer)
    assert (spec.url, spec.user, spec.partitions) == (URL, "postgres", 3)
    frame = read_as_text(spark, spec, [c.name for c in SOURCES["customers"].columns])
    assert frame.rdd.getNumPartitions() == 3
    _ingest(spark, landing)
    loaded = sorted(r.customer_id for r in spark.table(f"{SCHEMA}.customers").collect())
    assert loaded == [f"D{i}" for i in range(1, 8)]


def test_a_connection_that_is_not_defined_is_named(spark, landing):
    pointer = landing / "customers" / "crm.jdbc"
    pointer.write_text(f"connection: warehouse\ntable: {TABLE}\n")
    with pytest.raises(IngestError, match="db_connections.yml"):
        _ingest(spark, landing)
