"""The sample generator: deterministic, dirty like real exports, with a planted signal."""

import pandas as pd
import pytest

from pipeline.sample_data import SampleSpec, simulate, write_landing_zone

SMALL = SampleSpec(customers=200, months=14, seed=7)


def test_same_seed_gives_identical_files(tmp_path):
    write_landing_zone(SMALL, tmp_path / "a")
    write_landing_zone(SMALL, tmp_path / "b")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_drifting_customers_churn_more_often():
    truth = simulate(SampleSpec(customers=1500, months=18, seed=3))["_truth"]
    churned = truth["churn_month_index"] >= 0
    assert churned[truth["drift"] > 0].mean() > 2 * churned[truth["drift"] == 0].mean()


def test_exports_carry_duplicates_messy_casing_and_bad_rows(tmp_path):
    write_landing_zone(SMALL, tmp_path)
    customers = pd.read_csv(tmp_path / "customers" / "customers.csv", dtype=str)
    assert customers["customer_id"].duplicated().any(), "later updates repeat customers"
    assert (customers["region"].str.strip().str.lower() != customers["region"]).any()
    assert "not-a-date" in customers["signup_date"].tolist()
    lines = (tmp_path / "support_interactions" / "support_interactions.jsonl").read_text()
    assert lines.splitlines()[-2].endswith('"created_at"'), "a truncated JSON line"


def test_no_transaction_is_posted_after_the_export_cut_off(tmp_path):
    tables = simulate(SMALL)
    last_day = pd.Period(SMALL.end_month, freq="M").to_timestamp(how="end")
    assert tables["transactions"]["posted_at"].max() <= last_day


def test_only_core_writes_customers_and_transactions(tmp_path):
    written = write_landing_zone(SampleSpec(customers=50, months=12, only_core=True), tmp_path)
    assert set(written) == {"customers", "transactions"}
    # _truth holds the generator's answer key for benchmarks; the pipeline never reads it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_truth", "customers", "transactions"]


@pytest.mark.parametrize("argv", [["--customers", "5"], ["--months", "6"]])
def test_too_small_a_sample_is_refused_with_a_reason(argv):
    from pipeline.sample_data import build_parser, spec_from_args

    with pytest.raises(SystemExit, match="must be at least"):
        spec_from_args(build_parser().parse_args(argv))


RETAIL = SampleSpec(customers=3000, months=18, seed=11, scenario="retail")


def test_retail_scenario_writes_only_customers_and_transactions(tmp_path):
    written = write_landing_zone(SampleSpec(customers=100, months=12, scenario="retail"), tmp_path)
    assert set(written) == {"customers", "transactions"}
    assert (tmp_path / "_truth" / "retail_truth.parquet").is_file()


def test_retail_customers_often_buy_only_once():
    from pipeline.sample_data import simulate_retail

    tables = simulate_retail(RETAIL)
    purchases = tables["transactions"].groupby("customer_id").size()
    assert (purchases == 1).mean() > 0.4, "most BTYD customers buy once"
    assert purchases.max() > 10, "heterogeneous rates: some buy often"
    assert tables["_truth"]["never_buys"].any()


def test_true_repurchase_probability_is_zero_once_a_customer_has_dropped_out():
    from pipeline.sample_data import simulate_retail, true_repurchase_probability

    truth = simulate_retail(RETAIL)["_truth"]
    p = true_repurchase_probability(truth, "2026-03-01", 3)
    dead = (truth["dropout_at"] < pd.Timestamp("2026-04-01")).to_numpy()
    assert (p[dead] == 0).all()
    assert ((p >= 0) & (p <= 1)).all()
    assert p[~dead & ~truth["never_buys"].to_numpy()].mean() > 0.2
