"""Shared test setup: an isolated PROPENSITY_HOME and one Spark session per test run.

The environment is pinned before anything imports Spark or dbt, so the session's warehouse
and Derby metastore live in a temporary folder, never in the developer's .propensity/.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="propensity-tests-"))
os.environ.update(
    {
        "PROPENSITY_HOME": str(_HOME),
        "SPARK_SHUFFLE_PARTITIONS": "2",
        "SPARK_DRIVER_MEMORY": "2g",
        "SPARK_MASTER": "local[2]",
        # dbt artifacts of the test run stay out of the project's target/ and logs/
        "DBT_TARGET_PATH": str(_HOME / "dbt-target"),
        "DBT_LOG_PATH": str(_HOME / "dbt-logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
)
for name in (
    "PROPENSITY_LANDING_DIR",
    "PROPENSITY_WAREHOUSE_DIR",
    "PROPENSITY_METASTORE_DIR",
    "PROPENSITY_MODEL_STORE",
    "PROPENSITY_SERVING_DIR",
    "SPARK_REMOTE",
):
    os.environ.pop(name, None)


def pytest_unconfigure(config):
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def home() -> Path:
    """The test run's PROPENSITY_HOME."""
    return _HOME


@pytest.fixture(scope="session")
def spark():
    """The one local Spark session of the test run (UI off, 2 shuffle partitions)."""
    from pipeline.config import Paths
    from pipeline.spark import get_spark

    Paths.from_env().export()
    return get_spark()
