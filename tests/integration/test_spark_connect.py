"""The same project over Spark Connect: SPARK_REMOTE set, no code change.

A real Spark Connect server (the one pyspark ships) runs in its own process with its own
warehouse and metastore; `propensity run` talks to it from a client process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyspark
import pytest

from pipeline.config import PROJECT_DIR
from pipeline.spark import spark_settings

pytestmark = pytest.mark.spark


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    """A Spark Connect server configured like the `local` target, on a free port."""
    home = tmp_path_factory.mktemp("connect-home")
    spark_home = Path(pyspark.__file__).parent
    # a fresh home: the shared session's exported PROPENSITY_*_DIR would share its metastore
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PROPENSITY_")}
    env = {
        **inherited,
        "PROPENSITY_HOME": str(home),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_HOME": str(spark_home),
        "SPARK_NO_DAEMONIZE": "1",
        "SPARK_LOG_DIR": str(home / "spark-logs"),
        "DBT_TARGET_PATH": str(home / "dbt-target"),
        "DBT_LOG_PATH": str(home / "dbt-logs"),
    }
    env.pop("SPARK_REMOTE", None)
    port = _free_port()
    settings = spark_settings(target="local", env=env)
    settings["spark.sql.catalogImplementation"] = "hive"
    settings["spark.connect.grpc.binding.port"] = str(port)
    confs = [a for k, v in settings.items() if k != "spark.master" for a in ("--conf", f"{k}={v}")]
    log = (home / "connect-server.log").open("w")
    server = subprocess.Popen(
        [str(spark_home / "sbin" / "start-connect-server.sh"), "--master", "local[2]", *confs],
        env=env,
        cwd=PROJECT_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                os.killpg(server.pid, signal.SIGKILL)
                pytest.fail((home / "connect-server.log").read_text()[-3000:])
            time.sleep(0.5)
    yield home, f"sc://127.0.0.1:{port}", env
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
    log.close()


def test_whole_pipeline_runs_over_spark_connect(connect_server):
    home, remote, env = connect_server
    client_env = {**env, "SPARK_REMOTE": remote}
    for name in ("SPARK_HOME", "SPARK_NO_DAEMONIZE"):
        client_env.pop(name)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--customers", "200", "--months", "14"],
        env=client_env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "target='connect'" in output, "dbt picked the connect target from SPARK_REMOTE"
    assert "ERROR=0" in output and "PASS=" in output
    current = (home / "serving" / "CURRENT").read_text().strip()
    manifest = json.loads((home / "serving" / "versions" / current / "manifest.json").read_text())
    assert manifest["row_counts"]["customers"] > 50
    assert manifest["row_counts"]["models"] == 1
