"""Every value is bounded: absurd dates and non-finite or huge numbers are quarantined.

One transaction dated 9999-12-31 once grew the customer x month spine to 90 million rows, and
one `Infinity` amount made XGBoost fail; both now stop at ingestion with a reason.
"""

from __future__ import annotations

import pytest

from pipeline.ingest import SOURCES, ensure_tables, ingest_source

pytestmark = pytest.mark.spark
SCHEMA = "raw_bounds_test"
HEADER = "transaction_id,customer_id,transaction_at,posted_at,amount,channel,merchant_category"


@pytest.fixture()
def loaded(spark, tmp_path):
    spark.sql(f"drop database if exists {SCHEMA} cascade")
    ensure_tables(spark, schema=SCHEMA)
    rows = [
        "T1,C1,2026-01-05 10:00:00,,12.50,card,retail",
        "T2,C1,9999-12-31 00:00:00,,12.50,card,retail",
        "T3,C1,0001-01-01 00:00:00,,12.50,card,retail",
        "T4,C1,2026-01-05 10:00:00,10000-01-01 00:00:00,12.50,card,retail",
        "T5,C1,2026-01-05 10:00:00,,Infinity,card,retail",
        "T6,C1,2026-01-05 10:00:00,,NaN,card,retail",
        "T7,C1,2026-01-05 10:00:00,,1e308,card,retail",
        "T8,C1,2026-01-05 10:00:00,,-1000000000001,card,retail",
        "T9,C1,2026-01-05 10:00:00,,-25.00,card,refund",
    ]
    (tmp_path / "transactions").mkdir()
    (tmp_path / "transactions" / "t.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    # most of this file is bad on purpose: allow it, to see every reason
    ingest_source(spark, SOURCES["transactions"], tmp_path, schema=SCHEMA, max_rejected_share=1.0)
    yield
    spark.sql(f"drop database if exists {SCHEMA} cascade")


def test_plausible_rows_load_and_implausible_ones_are_quarantined_with_reasons(spark, loaded):
    loaded_ids = {
        r[0] for r in spark.table(f"{SCHEMA}.transactions").select("transaction_id").collect()
    }
    assert loaded_ids == {"T1", "T9"}
    assert spark.table(f"{SCHEMA}._quarantine").count() == 7


@pytest.mark.parametrize(
    "fragment",
    [
        "field 'transaction_at': '9999-12-31 00:00:00' is outside the plausible dates",
        "field 'transaction_at': '0001-01-01 00:00:00' is outside the plausible dates",
        "field 'posted_at': '10000-01-01 00:00:00'",
        "field 'amount': 'Infinity' is not a finite number",
        "field 'amount': 'NaN' is not a finite number",
        "field 'amount': '1e308' is not a finite number within ±1e+12",
        "field 'amount': '-1000000000001' is not a finite number",
    ],
)
def test_each_bad_value_is_named_in_its_reason(spark, loaded, fragment):
    reasons = [r.reason for r in spark.table(f"{SCHEMA}._quarantine").collect()]
    assert any(fragment in reason for reason in reasons), reasons


@pytest.mark.parametrize("broadcast_max", [5_000_000, -1], ids=["broadcast", "aggregate-first"])
def test_rows_whose_customer_is_unknown_are_counted_as_orphans(
    spark, loaded, monkeypatch, broadcast_max
):
    from pipeline import ingest

    # either plan: the master's ids sent to every task, or rows counted per customer first
    monkeypatch.setattr(ingest, "ORPHAN_BROADCAST_MAX_CUSTOMERS", broadcast_max)
    # only transactions were loaded: T1 and T9 name C1, who is in no customers file
    assert ingest.orphan_counts(spark, SOURCES, SCHEMA) == {"transactions": (2, 1, 0)}


CUSTOMERS_HEADER = (
    "customer_id,first_name,email,birth_date,region,customer_segment,signup_date,updated_at"
)


@pytest.mark.parametrize("broadcast_max", [5_000_000, -1], ids=["broadcast", "aggregate-first"])
def test_known_customers_are_not_orphans_and_rejected_ones_are_named(
    spark, tmp_path, monkeypatch, broadcast_max
):
    from pipeline import ingest

    monkeypatch.setattr(ingest, "ORPHAN_BROADCAST_MAX_CUSTOMERS", broadcast_max)
    schema = "raw_orphans_test"
    spark.sql(f"drop database if exists {schema} cascade")
    ensure_tables(spark, schema=schema)
    for name, header, rows in [
        # C2 is known; C3's record is rejected (no signup date); C1 is in no file
        (
            "customers",
            CUSTOMERS_HEADER,
            [
                "C2,Ann,a@example.com,1980-01-01,north,retail,2020-01-01,2026-01-01 00:00:00",
                "C3,Bo,b@example.com,1980-01-01,north,retail,,2026-01-01 00:00:00",
            ],
        ),
        (
            "transactions",
            HEADER,
            [
                "T1,C1,2026-01-05 10:00:00,,12.50,card,retail",
                "T2,C2,2026-01-05 10:00:00,,12.50,card,retail",
                "T3,C2,2026-01-06 10:00:00,,12.50,card,retail",
                "T4,C3,2026-01-05 10:00:00,,12.50,card,retail",
                "T5,C3,2026-01-06 10:00:00,,12.50,card,retail",
                "T6,C3,2026-01-07 10:00:00,,12.50,card,retail",
            ],
        ),
    ]:
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.csv").write_text("\n".join([header, *rows]) + "\n")
        ingest_source(spark, SOURCES[name], tmp_path, schema=schema, max_rejected_share=1.0)
    try:
        counts = ingest.orphan_counts(spark, SOURCES, schema)
    finally:
        spark.sql(f"drop database if exists {schema} cascade")
    # 4 rows name 2 customers the master lacks (C1, C3); C3 was rejected; C2's rows are not orphans
    assert counts == {"transactions": (4, 2, 1)}


def test_quarantine_summary_groups_by_file_and_reason_with_samples(spark, loaded):
    from pipeline.cli import quarantine_summary

    groups = quarantine_summary(spark, SCHEMA, "transactions", samples=1).collect()
    assert sum(g.records for g in groups) == 7
    assert {g._source_file for g in groups} == {"t.csv"}
    assert {g.issue_level for g in groups} == {"record"}
    assert all(len(g.samples) == 1 for g in groups)
    assert quarantine_summary(spark, SCHEMA, "customers", samples=1).count() == 0


def test_negative_amounts_are_refunds_by_default_and_errors_when_set(spark, tmp_path):
    schema = "raw_negative_test"
    spark.sql(f"drop database if exists {schema} cascade")
    ensure_tables(spark, schema=schema)
    (tmp_path / "transactions").mkdir()
    rows = ["T1,C1,2026-01-05 10:00:00,,12.50,card,retail", "T2,C1,2026-01-05 10:00:00,,-3,c,r"]
    (tmp_path / "transactions" / "t.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    try:
        ingest_source(
            spark,
            SOURCES["transactions"],
            tmp_path,
            schema=schema,
            max_rejected_share=1.0,
            negative_amounts="reject",
        )
        loaded = [r.transaction_id for r in spark.table(f"{schema}.transactions").collect()]
        (reason,) = [r.reason for r in spark.table(f"{schema}._quarantine").collect()]
    finally:
        spark.sql(f"drop database if exists {schema} cascade")
    assert loaded == ["T1"]
    assert reason.startswith("field 'amount': '-3' is negative, and negative amounts are set")
