"""The leakage test can fail: a one-month look-ahead planted in one rolling mean is caught.

The project is copied, one window in macros/features.sql is made to reach one month ahead,
and only customer_features_monthly and the leakage test are rebuilt, into a scratch schema,
deferring every other model to the pipeline run's tables (dbt --defer --favor-state).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipeline.config import PROJECT_DIR

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

# the trailing 3-month mean of the amount is made to add next month's amount
WINDOW = "[prefix ~ 'mean', s ~ ' / nullif(' ~ n ~ ', 0)']"
LOOK_AHEAD = (
    "[prefix ~ 'mean', ('(' ~ s ~ ' + coalesce(lead(' ~ series ~ ', 1) over (partition by ' "
    "~ partition_by ~ ' order by as_of_month), 0))' "
    "if prefix == 'transaction_amount_rolling_3m_' else s) ~ ' / nullif(' ~ n ~ ', 0)']"
)
SCHEMA = "leak_probe"


def test_a_planted_one_month_look_ahead_is_caught(spark, pipeline_run, tmp_path, monkeypatch):
    from dbt.cli.main import dbtRunner

    project = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", ".propensity", "target", "logs", "__pycache__", "*.egg-info"
        ),
    )
    macro = project / "macros" / "features.sql"
    assert WINDOW in macro.read_text(), "the rolling-window line moved: update this test"
    macro.write_text(macro.read_text().replace(WINDOW, LOOK_AHEAD))

    state = Path(os.environ["DBT_TARGET_PATH"])  # the pipeline run's manifest
    monkeypatch.setenv("PROPENSITY_SCHEMA", SCHEMA)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.chdir(project)
    try:
        result = dbtRunner().invoke(
            [
                "build",
                "--select",
                "customer_features_monthly assert_features_use_no_future_information",
                "--exclude",
                "test_type:unit",
                "--defer",
                "--favor-state",
                "--state",
                str(state),
                "--store-failures",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
            ]
        )
        statuses = {r.node.name: str(r.status) for r in result.result}
        assert statuses["customer_features_monthly"] == "success"
        assert statuses["assert_features_use_no_future_information"] == "fail"
        violations = {
            row[0]
            for row in spark.sql(
                f"select distinct violation_reason from {SCHEMA}_dbt_test__audit"
                ".assert_features_use_no_future_information"
            ).collect()
        }
        assert violations == {
            "transaction_amount_rolling_3m_mean differs when data after as_of_month is deleted"
        }
    finally:
        for schema in (SCHEMA, f"{SCHEMA}_dbt_test__audit"):
            spark.sql(f"drop database if exists {schema} cascade")
