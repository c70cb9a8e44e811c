"""The warehouse server: analysts over JDBC while a pipeline runs, everything in one JVM.

`propensity warehouse start` runs Spark's Thrift server with Spark Connect in the same JVM on
a fresh state folder. `propensity run` and a plain `dbt show` find it and go through Spark
Connect with no setting changed; beeline (the real HiveServer2 JDBC client pyspark ships)
queries the customers mart while dbt rebuilds it three times (a swap: the old table stays
readable).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.config import PROJECT_DIR
from pipeline.warehouse import spark_home

pytestmark = pytest.mark.spark

SIZE = ["--customers", "200", "--months", "14"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _propensity(env: dict, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A started warehouse server on free ports, for a fresh PROPENSITY_HOME."""
    home = tmp_path_factory.mktemp("warehouse-home")
    # a fresh home: the shared session's exported PROPENSITY_*_DIR would share its metastore
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPENSITY_")}
    env.pop("SPARK_REMOTE", None)
    thrift, connect = _free_port(), _free_port()
    env.update(
        {
            "PROPENSITY_HOME": str(home),
            "PROPENSITY_WAREHOUSE_THRIFT_PORT": str(thrift),
            "PROPENSITY_WAREHOUSE_CONNECT_PORT": str(connect),
            "DBT_TARGET_PATH": str(home / "dbt-target"),
            "DBT_LOG_PATH": str(home / "dbt-logs"),
        }
    )
    started = _propensity(env, "warehouse", "start", timeout=300)
    assert started.returncode == 0, (started.stdout + started.stderr)[-4000:]
    yield home, env, thrift, connect
    stopped = _propensity(env, "warehouse", "stop", timeout=120)
    assert stopped.returncode == 0, stopped.stderr[-2000:]


def _beeline(port: int, query: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(spark_home() / "bin" / "beeline"),
            "-u",
            f"jdbc:hive2://127.0.0.1:{port}/analytics",
            "--silent=true",
            "--outputformat=csv2",
            "-e",
            query,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_status_names_both_endpoints_and_a_second_start_is_refused(server):
    home, env, thrift, connect = server
    status = _propensity(env, "warehouse", "status", timeout=60)
    assert status.returncode == 0, status.stderr
    assert f"jdbc:hive2://127.0.0.1:{thrift}/analytics" in status.stdout
    assert f"sc://127.0.0.1:{connect}" in status.stdout
    again = _propensity(env, "warehouse", "start", timeout=60)
    assert again.returncode == 2
    assert "already runs" in again.stderr and "propensity warehouse stop" in again.stderr


def test_beeline_answers_while_dbt_rebuilds_the_mart(server):
    home, env, thrift, _ = server
    # the data and the customers mart, built through the server with no setting changed
    # (the whole pipeline through a server is the cluster test's)
    for step in (["generate", *SIZE], ["ingest"], ["dbt", "run", "--select", "+customers"]):
        done = _propensity(env, *step)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        if step[0] != "generate":
            assert "the warehouse server runs: sending Spark work through sc://127.0.0.1" in output
    assert "ERROR=0" in output and "PASS=" in output

    # dbt rebuilds the mart again and again; an analyst keeps querying it meanwhile
    rebuild = [sys.executable, "-m", "pipeline.cli", "dbt", "run", "--select"]
    rebuild = ["bash", "-c", 'for i in 1 2 3; do "$@" || exit 1; done', "rebuild"] + rebuild
    second = subprocess.Popen(
        [*rebuild, "customers"],
        env=env,
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    answers: list[tuple[float, subprocess.CompletedProcess]] = []

    def analyst() -> None:
        while second.poll() is None:
            answers.append(
                (
                    time.monotonic(),
                    _beeline(thrift, "select count(*) as n from customers"),
                )
            )
            time.sleep(1)

    watcher = threading.Thread(target=analyst)
    watcher.start()
    log, _ = second.communicate(timeout=900)
    watcher.join(timeout=180)
    assert second.returncode == 0, log[-4000:]
    assert log.count("Done. PASS=") == 3 and log.count(" ERROR=0 ") == 3, log[-4000:]
    failed = [a.stdout + a.stderr for _, a in answers if a.returncode != 0]
    assert not failed, failed[0][-2000:]
    assert len(answers) >= 3, "beeline queried the mart several times during the run"
    counts = {a.stdout.strip().splitlines()[-1] for _, a in answers}
    assert all(count.isdigit() and int(count) > 50 for count in counts), counts


def test_sql_and_a_plain_dbt_command_go_through_the_server(server, tmp_path):
    home, env, _, _ = server
    if not list((home / "warehouse" / "analytics.db").glob("customers*")):
        pytest.skip("needs the customers mart of the previous test")
    answer = _propensity(
        env,
        "sql",
        "select region, count(*) as customers from customers group by region order by region",
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    lines = answer.stdout.strip().splitlines()
    assert lines[0] == "region,customers" and len(lines) >= 2
    out = tmp_path / "scores.csv"
    exported = _propensity(
        env,
        "sql",
        "select customer_id, region from customers",
        "--output",
        str(out),
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert len(out.read_text().splitlines()) > 50
    wrong = _propensity(env, "sql", "select no_such_column from customers", timeout=120)
    assert wrong.returncode == 2
    assert "the query failed: [UNRESOLVED_COLUMN" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) <= 3, wrong.stderr

    # a plain `dbt show` (no propensity, no SPARK_REMOTE): the dbt plugin routes it, where
    # an embedded session would wait on the server's metastore
    dbt = Path(sys.executable).parent / "dbt"
    shown = subprocess.run(
        [
            str(dbt),
            "show",
            "--inline",
            "select count(*) as n from analytics.customers",
            "--profiles-dir",
            str(PROJECT_DIR),
            "--project-dir",
            str(PROJECT_DIR),
        ],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 0, (shown.stdout + shown.stderr)[-3000:]
    assert "Previewing inline node" in shown.stdout
