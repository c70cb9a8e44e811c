"""Whole-file problems stop ingestion before anything loads, with a message naming the file.

Before, a repeated header column or a corrupt Parquet file ended in a raw Spark traceback,
the latter after other sources had already loaded; Latin-1 text loaded as mangled text; and
RFC 4180 quoting (a newline or a doubled quote inside quotes) was misread.
"""

from __future__ import annotations

import pytest

from pipeline.ingest import IngestError, ingest_all
from pipeline.sample_data import SampleSpec, write_landing_zone

pytestmark = pytest.mark.spark
SCHEMA = "raw_whole_file_test"
HEADER = "customer_id,first_name,email,birth_date,region,customer_segment,signup_date,updated_at"


@pytest.fixture()
def landing(spark, tmp_path):
    spark.sql(f"drop database if exists {SCHEMA} cascade")
    write_landing_zone(SampleSpec(customers=20, months=12, seed=5), tmp_path)
    yield tmp_path
    spark.sql(f"drop database if exists {SCHEMA} cascade")


def _loaded_rows(spark) -> int:
    tables = ("customers", "transactions", "accounts", "marketing_offers")
    return sum(spark.table(f"{SCHEMA}.{t}").count() for t in tables)


def test_a_repeated_header_column_is_named_and_nothing_loads(spark, landing):
    path = landing / "accounts" / "accounts_extra.csv"
    path.write_text(
        "account_id,customer_id,opened_date,closed_date,status,monthly_fee,balance,status\n"
    )
    with pytest.raises(IngestError, match=r"accounts_extra\.csv: column\(s\) status appear"):
        ingest_all(spark, landing, schema=SCHEMA)
    assert _loaded_rows(spark) == 0


def test_a_corrupt_parquet_file_is_named_before_any_source_loads(spark, landing):
    (landing / "marketing_offers" / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(IngestError, match=r"broken\.parquet: not a readable Parquet file"):
        ingest_all(spark, landing, schema=SCHEMA)
    assert _loaded_rows(spark) == 0, "customers and transactions come first: none may load"


def test_latin1_text_is_refused_with_the_line_and_how_to_convert(spark, landing):
    path = landing / "customers" / "more_customers.csv"
    row = "Z1,José,z1@example.com,1980-01-01,north,mass,2024-01-01,2024-01-01 09:00:00"
    path.write_bytes((HEADER + "\n" + row + "\n").encode("latin-1"))
    with pytest.raises(IngestError, match=r"more_customers\.csv: line 2 is not utf-8.*_source"):
        ingest_all(spark, landing, schema=SCHEMA)
    assert _loaded_rows(spark) == 0


def test_a_declared_encoding_reads_latin1_csv_and_json(spark, landing):
    row = "Z1,José,z1@example.com,1980-01-01,north,mass,2024-01-01,2024-01-01 09:00:00"
    (landing / "customers" / "more_customers.csv").write_bytes(
        (HEADER + "\n" + row + "\n").encode("latin-1")
    )
    (landing / "customers" / "_source.yml").write_text("encoding: latin-1\n")
    support = landing / "support_interactions"
    (support / "more.jsonl").write_bytes(
        '{"interaction_id": "I1", "customer_id": "Z1", "created_at": "2024-02-01 10:00:00", '
        '"topic": "réclamation"}\n'.encode("latin-1")
    )
    (support / "_source.yml").write_text("encoding: iso-8859-1\n")
    ingest_all(spark, landing, schema=SCHEMA)
    name = spark.sql(f"select first_name from {SCHEMA}.customers where customer_id = 'Z1'")
    assert name.first()[0] == "José"
    topic = spark.sql(
        f"select topic from {SCHEMA}.support_interactions where interaction_id = 'I1'"
    )
    assert topic.first()[0] == "réclamation"


def test_rfc4180_quoting_is_read_as_written(spark, landing):
    (landing / "customers" / "quoted.csv").write_text(
        HEADER
        + "\n"
        + 'Q1,"Ann\nMarie",q1@example.com,1980-01-01,north,mass,2024-01-01,2024-01-01 09:00:00\n'
        + 'Q2,"O""Brien",q2@example.com,1980-01-01,north,mass,2024-01-01,2024-01-01 09:00:00\n'
    )
    ingest_all(spark, landing, schema=SCHEMA)
    names = {
        r.customer_id: r.first_name
        for r in spark.table(f"{SCHEMA}.customers").where("customer_id like 'Q%'").collect()
    }
    assert names == {"Q1": "Ann\nMarie", "Q2": 'O"Brien'}
    quarantined = spark.table(f"{SCHEMA}._quarantine").select("_source_file").collect()
    assert "quoted.csv" not in {r[0] for r in quarantined}


def test_a_mostly_bad_file_fails_loudly_and_no_source_changes(spark, landing):
    good = "T1,C0000001,2026-01-05 10:00:00,,12.50,card,retail"
    rows = [good] + [f"T{i},C0000001,2026-01-05 10:00:00,,n/a,card,retail" for i in range(2, 6)]
    (landing / "transactions" / "export_2026_01.csv").write_text(
        "transaction_id,customer_id,transaction_at,posted_at,amount,channel,merchant_category\n"
        + "\n".join(rows)
        + "\n"
    )
    with pytest.raises(IngestError) as error:
        ingest_all(spark, landing, schema=SCHEMA)
    message = str(error.value)
    assert "export_2026_01.csv: 4 of 5 records (80%) cannot be loaded" in message
    assert "4 x field 'amount': 'n/a' is not a valid double (e.g." in message
    assert "Expected CSV with columns transaction_id" in message
    assert _loaded_rows(spark) == 0, "customers were staged first, but nothing may change"
    assert not [t for t in spark.catalog.listTables(SCHEMA) if t.name.startswith("_staging")]
