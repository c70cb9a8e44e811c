"""Ingestion on real Spark: quarantine with reasons, audit, idempotency, clear errors."""

from pathlib import Path

import pandas as pd
import pytest

from pipeline.ingest import SOURCES, IngestError, ingest_all, ingest_source
from pipeline.sample_data import SampleSpec, write_landing_zone

pytestmark = pytest.mark.spark
SCHEMA = "raw_ingest_test"


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    write_landing_zone(SampleSpec(customers=60, months=12, seed=11), root)
    return root


@pytest.fixture(scope="module")
def first_load(spark, landing):
    return ingest_all(spark, landing, schema=SCHEMA)


def _count(spark, table, where="true"):
    return spark.sql(f"select count(*) from {SCHEMA}.{table} where {where}").first()[0]


def test_every_planted_bad_record_is_quarantined_with_its_reason(spark, first_load):
    reasons = {
        (r.source, r.reason)
        for r in spark.sql(
            f"select source, reason from {SCHEMA}._quarantine where issue_level = 'record'"
        ).collect()
    }
    assert ("customers", "field 'signup_date': 'not-a-date' is not a valid date") in reasons
    assert ("customers", "missing required field 'customer_id'") in reasons
    assert ("transactions", "field 'amount': 'n/a' is not a valid double") in reasons
    assert (
        "transactions",
        "malformed record: wrong number of fields or not parseable as CSV",
    ) in reasons
    assert (
        "support_interactions",
        "malformed record: wrong number of fields or not parseable as JSON",
    ) in reasons
    assert ("marketing_offers", "missing required field 'customer_id'") in reasons
    assert _count(spark, "customers", "customer_id = 'C9999992'") == 0


def test_an_unparseable_optional_field_loads_as_null_with_a_field_level_issue(spark, first_load):
    (customer,) = spark.sql(
        f"select * from {SCHEMA}.customers where customer_id = 'C9999991'"
    ).collect()
    assert customer.birth_date is None and customer.region == "north"
    (issue,) = spark.sql(
        f"select * from {SCHEMA}._quarantine where record like '%C9999991%'"
    ).collect()
    assert issue.issue_level == "field"
    assert issue.reason == "field 'birth_date': '31/02/1980' is not a valid date; loaded as null"


def test_audit_accounts_for_every_row_of_every_file(spark, landing, first_load):
    audit = spark.table(f"{SCHEMA}._load_audit").toPandas()
    assert (audit["rows_read"] == audit["rows_loaded"] + audit["rows_rejected"]).all()
    files = {p.name for s in SOURCES for p in (landing / s).iterdir()}
    assert set(audit["file_name"]) == files
    customers_csv = pd.read_csv(landing / "customers" / "customers.csv", dtype=str)
    row = audit[audit["file_name"] == "customers.csv"].iloc[0]
    assert row["rows_read"] == len(customers_csv)
    assert row["rows_loaded"] == _count(spark, "customers")


def test_parquet_nanosecond_timestamps_are_loaded(spark, first_load):
    offered = spark.sql(f"select min(offered_at) from {SCHEMA}.marketing_offers").first()[0]
    assert offered is not None and offered.year >= 2025


def test_rerunning_the_same_files_adds_nothing(spark, landing, first_load):
    before = {s: _count(spark, s) for s in SOURCES}
    audit_before = _count(spark, "_load_audit")
    results = ingest_all(spark, landing, schema=SCHEMA)
    assert {r.status for r in results} == {"skipped"}
    assert {s: _count(spark, s) for s in SOURCES} == before
    assert _count(spark, "_load_audit") == audit_before


def test_a_corrected_file_replaces_exactly_its_own_rows(spark, landing, first_load, tmp_path):
    corrected = landing / "customers" / "customers.csv"
    lines = corrected.read_text().splitlines()
    good = [ln for ln in lines if not ln.startswith(("C9999991", "C9999992", ","))]
    corrected.write_text("\n".join(good) + "\n")
    transactions_before = _count(spark, "transactions")

    results = ingest_source(spark, SOURCES["customers"], landing, schema=SCHEMA)

    assert [(r.status, r.rows_rejected) for r in results] == [("loaded", 0)]
    assert _count(spark, "customers") == len(good) - 1  # minus the header
    assert _count(spark, "_quarantine", "source = 'customers'") == 0
    assert _count(spark, "transactions") == transactions_before


def test_a_file_missing_columns_is_refused_naming_file_and_columns(spark, landing, first_load):
    bad = landing / "accounts" / "accounts_extra.csv"
    bad.write_text("account_id,customer_id,product\nA1,C0000001,checking\n")
    before = _count(spark, "accounts")
    try:
        with pytest.raises(IngestError) as error:
            ingest_source(spark, SOURCES["accounts"], landing, schema=SCHEMA)
    finally:
        bad.unlink()
    message = str(error.value)
    assert "accounts_extra.csv" in message
    assert "opened_date" in message and "closed_date" in message
    assert "re-run" in message
    assert _count(spark, "accounts") == before


def test_only_customers_and_transactions_is_enough(spark, tmp_path):
    write_landing_zone(SampleSpec(customers=30, months=12, only_core=True), tmp_path)
    ingest_all(spark, tmp_path, schema="raw_core_only_test")
    for optional in ("accounts", "support_interactions", "marketing_offers", "economic_indicators"):
        assert spark.table(f"raw_core_only_test.{optional}").count() == 0
    assert spark.table("raw_core_only_test.transactions").count() > 0


def test_missing_required_source_says_what_to_do(spark, tmp_path):
    with pytest.raises(IngestError, match="propensity generate"):
        ingest_source(spark, SOURCES["customers"], tmp_path, schema=SCHEMA)


def test_a_missing_required_source_stops_before_anything_is_loaded(spark, landing, tmp_path):
    (tmp_path / "customers").mkdir()
    (tmp_path / "customers" / "customers.csv").write_bytes(
        (landing / "customers" / "customers.csv").read_bytes()
    )
    with pytest.raises(IngestError, match="no transactions files.*Nothing was loaded"):
        ingest_all(spark, tmp_path, schema="raw_missing_source_test")
    assert not spark.catalog.tableExists("raw_missing_source_test.customers")
