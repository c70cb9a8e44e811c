"""The pipeline on a real Spark standalone cluster: a master, a worker and executors in JVMs
of their own, on loopback.

Spark's own ``Master`` and ``Worker`` classes (from pyspark's distribution) start on
127.0.0.1; `propensity warehouse start --master spark://…` attaches the Spark Connect server
to that master, with the shared PostgreSQL metastore. `propensity run` then goes through
SPARK_REMOTE, so ingestion, dbt and the Python models' ``mapInPandas`` work run in the
worker's executor, which imports the project's ``ml`` package. Its scores and segments must
equal the embedded run's (the `pipeline_run` fixture) on the same generated data.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import PROJECT_DIR
from pipeline.warehouse import port_open, spark_home
from tests.e2e.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

POSTGRES = ("127.0.0.1", 5432)
SCHEMA = "propensity_cluster_test"
JDBC_JAR = Path(os.environ.get("PROPENSITY_JDBC_JARS", "/usr/share/java/postgresql.jar"))


def _daemon(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    """Start one of Spark's own daemons (Master, Worker) in a process group of its own."""
    with log.open("w") as out:
        return subprocess.Popen(
            [str(spark_home() / "bin" / "spark-class"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _wait_for(text: str, log: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{log.name}: no {text!r}:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[tuple[str, dict, Path]]:
    """A standalone master and one worker (2 cores) on 127.0.0.1; yields the master URL, the
    environment for `propensity` commands against it, and the logs folder."""
    if not port_open(*POSTGRES) or not JDBC_JAR.is_file():
        pytest.skip("needs PostgreSQL on 127.0.0.1:5432 and its JDBC driver (`make jdbc`)")
    logs = tmp_path_factory.mktemp("cluster-logs")
    home = tmp_path_factory.mktemp("cluster-home")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PROPENSITY_", "SPARK_"))}
    base.update({"SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": "127.0.0.1"})
    port = free_port()
    master_url = f"spark://127.0.0.1:{port}"
    daemons = [
        _daemon(
            ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port)]
            + ["--webui-port", str(free_port())],
            logs / "master.log",
            {**base, "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false"},
        )
    ]
    try:
        _wait_for("I have been elected leader", logs / "master.log", daemons[0])
        daemons.append(
            _daemon(
                ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "2"]
                + ["--memory", "3g", "--webui-port", str(free_port())]
                + ["--work-dir", str(logs / "work"), master_url],
                logs / "worker.log",
                base,
            )
        )
        _wait_for("Successfully registered with master", logs / "worker.log", daemons[1])
        env = {
            **base,
            "PROPENSITY_HOME": str(home),
            "PROPENSITY_METASTORE_URL": (
                f"jdbc:postgresql://127.0.0.1:5432/test?currentSchema={SCHEMA}"
            ),
            "PROPENSITY_WAREHOUSE_THRIFT_PORT": str(free_port()),
            "PROPENSITY_WAREHOUSE_CONNECT_PORT": str(free_port()),
            "SPARK_SHUFFLE_PARTITIONS": "2",
            "DBT_TARGET_PATH": str(home / "dbt-target"),
            "DBT_LOG_PATH": str(home / "dbt-logs"),
        }
        _drop_schema()
        yield master_url, env, logs
    finally:
        for process in reversed(daemons):
            _stop(process)
        _drop_schema()


def _drop_schema() -> None:
    subprocess.run(
        ["psql", "-h", POSTGRES[0], "-U", "postgres", "-d", "test", "-q", "-c"]
        # DataNucleus names the schema upper-case, quoted (pipeline.metastore.postgres_schema)
        + [f'drop schema if exists "{SCHEMA.upper()}" cascade'],
        check=False,
        capture_output=True,
    )


def _propensity(env: dict, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _published(home: Path, table: str) -> pd.DataFrame:
    """One published table of a state folder's CURRENT version (a few hundred rows)."""
    serving = home / "serving"
    version = (serving / "CURRENT").read_text().strip()
    return pd.read_parquet(serving / "versions" / version / table)


def test_pipeline_on_a_standalone_cluster_scores_as_the_embedded_run(cluster, pipeline_run):
    master_url, env, logs = cluster
    started = _propensity(
        env,
        *("warehouse", "start", "--master", master_url, "--driver-memory", "2g"),
        *("--conf", "spark.executor.memory=2g", "--conf", "spark.driver.host=127.0.0.1"),
        timeout=300,
    )
    assert started.returncode == 0, (started.stdout + started.stderr)[-4000:]
    try:
        began = time.monotonic()
        # the same data as the embedded run; SPARK_REMOTE set as a user on a cluster would
        remote = f"sc://127.0.0.1:{env['PROPENSITY_WAREHOUSE_CONNECT_PORT']}"
        run = _propensity(
            {**env, "SPARK_REMOTE": remote}, "run", "--customers", "300", "--months", "18"
        )
        seconds = time.monotonic() - began
        assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
        print(f"pipeline on the standalone cluster: {seconds:.0f}s")
    finally:
        stopped = _propensity(env, "warehouse", "stop", timeout=120)
        assert stopped.returncode == 0, stopped.stderr[-2000:]

    # the Python models ran in the worker's executor, a JVM of its own with Python workers
    executor_logs = "".join(
        p.read_text(errors="replace") for p in (logs / "work").rglob("stderr") if p.is_file()
    )
    assert "CoarseGrainedExecutorBackend" in executor_logs
    assert "Starting Python task execution" in executor_logs

    home = Path(env["PROPENSITY_HOME"])
    for table in ("customers", "segments", "coverage"):
        assert (home / "serving").is_dir(), run.stdout[-3000:]
        on_cluster = _published(home, table)
        embedded = _published(pipeline_run.home, table)
        assert len(on_cluster) == len(embedded) > 0, table
    keys = ["customer_id"]
    on_cluster = _published(home, "customers").sort_values(keys).reset_index(drop=True)
    embedded = _published(pipeline_run.home, "customers").sort_values(keys).reset_index(drop=True)
    assert on_cluster["customer_id"].tolist() == embedded["customer_id"].tolist()
    pd.testing.assert_series_equal(
        on_cluster["churn_probability"], embedded["churn_probability"], rtol=0, atol=1e-9
    )
    assert on_cluster["risk_band"].tolist() == embedded["risk_band"].tolist()
    assert on_cluster["segment_id"].tolist() == embedded["segment_id"].tolist()
