"""The non-contractual case end to end: a retailer with customers and transactions only.

Runs `propensity run --scenario retail` in its own process and state folder (its own Spark
JVM and metastore), as a new user would, then reads what it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from pipeline.config import PROJECT_DIR
from serving.layout import table_folder

pytestmark = [pytest.mark.spark, pytest.mark.e2e]


@pytest.fixture(scope="module")
def retail_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("retail")
    env = {
        **os.environ,
        "PROPENSITY_HOME": str(home),
        "DBT_TARGET_PATH": str(home / "dbt-target"),
        "DBT_LOG_PATH": str(home / "dbt-logs"),
    }
    for name in [n for n in env if n.startswith("PROPENSITY_") and n.endswith("_DIR")]:
        env.pop(name)
    env.pop("PROPENSITY_MODEL_STORE", None)
    command = [sys.executable, "-m", "pipeline.cli", "run", "--scenario", "retail"]
    done = subprocess.run(
        [*command, "--customers", "1500", "--months", "18"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return home, done.stdout + done.stderr


def test_retail_uses_the_non_contractual_definition(retail_run):
    _, output = retail_run
    assert "churn definition: non_contractual (chosen automatically: no accounts feed)" in output


def test_retail_model_beats_the_recency_rule_out_of_time(retail_run):
    home, _ = retail_run
    (metadata,) = [json.loads(p.read_text()) for p in home.glob("model_store/*/metadata.json")]
    metrics = metadata["metrics"]
    assert metrics["model"]["roc_auc"] > metrics["recency"]["roc_auc"], metrics
    assert metrics["model"]["ece"] < 0.05


def test_every_retail_customer_with_a_purchase_is_scored(retail_run):
    home, output = retail_run
    coverage = pq.read_table(table_folder(home / "warehouse", "churn_scoring_coverage"))
    frame = coverage.to_pandas()
    unscored = frame[~frame["is_scored"]]
    assert set(unscored["unscored_reason"]) <= {"no_transaction_yet", "customer_record_quarantined"}
    assert frame["is_scored"].mean() > 0.9, "one-time and quiet buyers are scored too"
    assert "coverage: " in output and "no_transaction_yet" in output


def test_retail_segments_have_unique_names_rules_and_counted_churn(retail_run):
    home, _ = retail_run
    profiles = pq.read_table(table_folder(home / "warehouse", "churn_segment_profiles")).to_pandas()
    assert len(profiles) >= 1
    assert profiles["segment_name"].is_unique, profiles["segment_name"].tolist()
    assert profiles["segment_rule"].notna().all() and (profiles["rule_precision"] > 0).all()
    # an observed rate is shown only with the counts it rests on
    shown = profiles[profiles["observed_churn_rate"].notna()]
    assert (shown["backtest_churner_count"] >= 10).all()
    assert profiles["observed_churn_basis"].str.contains("churners|no backtest").all()


def test_retail_run_writes_both_reports(retail_run):
    from serving.layout import POINTER_FILE, VERSIONS_DIR
    from serving.reports import MODEL_REPORT, REPORTS_DIR, SEGMENT_PROFILES, SEGMENT_REPORT

    home, output = retail_run
    serving = home / "serving"
    folder = serving / VERSIONS_DIR / (serving / POINTER_FILE).read_text().strip() / REPORTS_DIR
    for name in (MODEL_REPORT, SEGMENT_REPORT):
        assert (folder / name).read_bytes()[:5] == b"%PDF-", name
    profiles = (folder / SEGMENT_PROFILES).read_text()
    assert profiles.count("\n## ") >= 1 and "**Rule:**" in profiles
    assert "report: " in output
