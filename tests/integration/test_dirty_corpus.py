"""A corpus of dirty landing files, loaded together: nothing is lost, duplicated or mixed.

Every file's records are counted here independently (Python's RFC 4180 reader), and must
equal the rows loaded plus the records quarantined for that file, exactly. The corpus holds
the names and values that once did damage: a quote, `*`, braces, `%`, `#`, spaces and
unicode in names; a header-only file; quoted newlines, doubled quotes and a BOM; a `;`
export; a gzip file; far-off dates, non-finite and huge numbers; a missing key; a malformed
line; and an unparseable optional field (loaded as null, with a field-level issue).
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

from pipeline.ingest import csv_delimiter, ingest_all

pytestmark = pytest.mark.spark
SCHEMA = "raw_corpus_test"
CUSTOMERS = "customer_id,first_name,email,birth_date,region,customer_segment,signup_date,updated_at"
TRANSACTIONS = (
    "transaction_id,customer_id,transaction_at,posted_at,amount,channel,merchant_category"
)


def _customer(customer_id: str, birth: str = "1980-01-01", signup: str = "2024-01-01") -> str:
    return f"{customer_id},Ann,a@example.com,{birth},north,mass,{signup},2024-01-02 09:00:00"


def _tx(tx_id: str, amount: str, at: str = "2025-06-01 10:00:00") -> str:
    return f"{tx_id},K1,{at},,{amount},card,retail"


CUSTOMER_FILES = {
    "customers.csv": [_customer("K1"), _customer("K2"), _customer("K3")],
    "x'); drop table raw.customers; --.csv": [_customer("N1"), _customer("N2")],
    "customers.csv'), partition (_source_file='x.csv": [],  # header only
    "c*.csv": [_customer("G1")],
    "brace{1}.csv": [_customer("B1")],
    "[ab].csv": [_customer("S1")],
    "march 100%25 #2 a+b.csv": [_customer("P1"), _customer("P2")],
    "ünïcödé 名前.csv": [_customer("U1")],
    "values.csv": [
        _customer("V1"),
        _customer("V2", birth="31/02/1980"),  # optional field: loads, birth_date null
        _customer("V3", signup="9999-12-31"),  # implausible date: rejected
        _customer("V4", signup="0001-01-01"),  # implausible date: rejected
        _customer(""),  # missing key: rejected
        "V6,too,few,fields",  # malformed: rejected
    ],
}


def _write_customers(folder: Path) -> None:
    for name, rows in CUSTOMER_FILES.items():
        (folder / name).write_text("\n".join([CUSTOMERS, *rows]) + "\n", encoding="utf-8")
    # RFC 4180: a BOM, a quoted newline and a doubled quote
    (folder / "quoted.csv").write_text(
        "\ufeff"
        + CUSTOMERS
        + "\n"
        + 'Q1,"Ann\nMarie",q1@example.com,1980-01-01,north,mass,2024-01-01,2024-01-02 09:00:00\n'
        + 'Q2,"O""Brien",q2@example.com,1980-01-01,north,mass,2024-01-01,2024-01-02 09:00:00\n',
        encoding="utf-8",
    )
    semicolon = [CUSTOMERS.replace(",", ";"), *(_customer(c).replace(",", ";") for c in "LM")]
    (folder / "semicolon.csv").write_text("\n".join(semicolon) + "\n", encoding="utf-8")
    with gzip.open(folder / "zipped.csv.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join([CUSTOMERS, _customer("Z1"), _customer("Z2")]) + "\n")


def _write_transactions(folder: Path) -> None:
    rows = [
        _tx("T1", "12.50"),
        _tx("T2", "-25.00"),  # a refund: loads
        _tx("T3", "Infinity"),
        _tx("T4", "NaN"),
        _tx("T5", "1e308"),
        _tx("T6", "n/a"),  # amount is strict: rejected
        _tx("T7", "10.00", at="9999-12-31 00:00:00"),
    ]
    (folder / "tx 2025#06.csv").write_text("\n".join([TRANSACTIONS, *rows]) + "\n")


def _records_in(path: Path) -> int:
    """Records in a file, counted by Python's RFC 4180 reader (header excluded)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
        text = f.read()
    rows = list(csv.reader(io.StringIO(text), delimiter=csv_delimiter(path)))
    return sum(1 for row in rows[1:] if row)


def _by_file(spark, table: str, where: str = "true") -> dict[str, int]:
    rows = spark.sql(
        f"select _source_file, count(*) as n from {SCHEMA}.{table} where {where} "
        "group by _source_file"
    ).collect()
    return {r._source_file: r.n for r in rows}


@pytest.fixture(scope="module")
def corpus(spark, tmp_path_factory):
    landing = tmp_path_factory.mktemp("corpus")
    (landing / "customers").mkdir()
    (landing / "transactions").mkdir()
    _write_customers(landing / "customers")
    _write_transactions(landing / "transactions")
    spark.sql(f"drop database if exists {SCHEMA} cascade")
    # most of values.csv and the transactions file are bad on purpose
    ingest_all(spark, landing, schema=SCHEMA, max_rejected_share=1.0)
    yield landing
    spark.sql(f"drop database if exists {SCHEMA} cascade")


def test_every_file_adds_up_exactly(spark, corpus):
    audit = {r.file_name: r for r in spark.table(f"{SCHEMA}._load_audit").collect()}
    for source in ("customers", "transactions"):
        loaded = _by_file(spark, source)
        rejected = _by_file(spark, "_quarantine", f"source = '{source}' and issue_level = 'record'")
        for path in sorted((corpus / source).iterdir()):
            records = _records_in(path)
            row = audit[path.name]
            assert (row.rows_read, row.rows_loaded, row.rows_rejected) == (
                records,
                loaded.get(path.name, 0),
                rejected.get(path.name, 0),
            ), path.name
            assert row.rows_loaded + row.rows_rejected == records, path.name


def test_each_file_keeps_exactly_its_own_rows(spark, corpus):
    ids = {
        r.customer_id: r._source_file
        for r in spark.table(f"{SCHEMA}.customers").select("customer_id", "_source_file").collect()
    }
    assert {i for i, f in ids.items() if f == "customers.csv"} == {"K1", "K2", "K3"}
    assert ids["G1"] == "c*.csv" and ids["B1"] == "brace{1}.csv" and ids["S1"] == "[ab].csv"
    assert ids["P1"] == ids["P2"] == "march 100%25 #2 a+b.csv"
    assert ids["U1"] == "ünïcödé 名前.csv"
    assert ids["L"] == ids["M"] == "semicolon.csv"
    assert {i for i, f in ids.items() if f == "values.csv"} == {"V1", "V2"}
    names = {
        r.customer_id: r.first_name
        for r in spark.table(f"{SCHEMA}.customers").where("customer_id like 'Q%'").collect()
    }
    assert names == {"Q1": "Ann\nMarie", "Q2": 'O"Brien'}


def test_bad_values_are_quarantined_with_reasons_and_good_ones_load(spark, corpus):
    transactions = {
        r.transaction_id: r.amount for r in spark.table(f"{SCHEMA}.transactions").collect()
    }
    assert transactions == {"T1": 12.5, "T2": -25.0}
    reasons = {
        r.reason
        for r in spark.table(f"{SCHEMA}._quarantine").where("issue_level = 'record'").collect()
    }
    for fragment in (
        "field 'signup_date': '9999-12-31' is outside the plausible dates",
        "field 'signup_date': '0001-01-01' is outside the plausible dates",
        "missing required field 'customer_id'",
        "malformed record",
        "field 'amount': 'Infinity' is not a finite number",
        "field 'amount': 'NaN' is not a finite number",
        "field 'amount': '1e308' is not a finite number",
        "field 'amount': 'n/a' is not a valid double",
        "field 'transaction_at': '9999-12-31 00:00:00' is outside the plausible dates",
    ):
        assert any(fragment in reason for reason in reasons), (fragment, reasons)
    (v2,) = spark.table(f"{SCHEMA}.customers").where("customer_id = 'V2'").collect()
    assert v2.birth_date is None
    fields = spark.table(f"{SCHEMA}._quarantine").where("issue_level = 'field'").collect()
    assert [(r._source_file, r.reason) for r in fields] == [
        ("values.csv", "field 'birth_date': '31/02/1980' is not a valid date; loaded as null")
    ]


def test_a_rerun_changes_nothing(spark, corpus):
    def state():
        return (
            _by_file(spark, "customers"),
            _by_file(spark, "transactions"),
            _by_file(spark, "_quarantine"),
        )

    before = state()
    results = ingest_all(spark, corpus, schema=SCHEMA, max_rejected_share=1.0)
    assert {r.status for r in results} == {"skipped"}
    assert state() == before
