"""A second process on a metastore in use stops at once with one line naming the holder.

The test run's own Spark session holds the embedded Derby metastore; a `propensity ingest`
started on the same state folder must say so and exit 3 within seconds, instead of retrying
for minutes and printing tens of thousands of log lines.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline.config import PROJECT_DIR

pytestmark = pytest.mark.spark


def test_a_second_process_is_told_who_holds_the_metastore(spark):
    spark.sql("show databases").collect()  # Derby is booted and locked by this test run
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "ingest"],
        cwd=PROJECT_DIR,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 3, output[-3000:]
    assert "is in use by process" in output and "Spark's JVM, started by pid" in output
    assert f"started by pid {os.getpid()}" in output
    assert "propensity warehouse start" in output and "its own PROPENSITY_HOME" in output
    assert len(output.splitlines()) < 10
