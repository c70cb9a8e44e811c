"""A PostgreSQL-backed metastore: two Spark JVMs at once, each sees the other's tables.

Runs on the real PostgreSQL at 127.0.0.1:5432 (trust auth, database `test`) in a schema of
its own, which `propensity`'s setup creates; DataNucleus creates the metastore tables.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from pipeline.config import PROJECT_DIR
from pipeline.jdbc import driver_jars
from pipeline.metastore import MetastoreError, postgres_schema

pytestmark = pytest.mark.spark

BASE_URL = "jdbc:postgresql://127.0.0.1:5432/test"

# Each process writes its own table, then waits until the other's appears and reads it. It
# waits on events, not on a clock: it gives up only when the parent says the other process
# has ended (the file named by argv[3]), so a slow machine makes the test slow, not failed.
PROCESS = """
import sys, time
from pathlib import Path
from pipeline.spark import get_spark
me, other, other_ended = sys.argv[1], sys.argv[2], Path(sys.argv[3])
spark = get_spark()
spark.sql("create database if not exists shared_demo")
spark.sql(f"create table shared_demo.from_{me} using parquet as select '{me}' as writer")
print(me, "wrote", f"shared_demo.from_{me}", flush=True)
while not spark.catalog.tableExists(f"shared_demo.from_{other}"):
    if other_ended.exists() and not spark.catalog.tableExists(f"shared_demo.from_{other}"):
        sys.exit(f"{me}: {other} ended without shared_demo.from_{other} appearing here")
    time.sleep(1)
print(me, "read", spark.table(f"shared_demo.from_{other}").first().writer, flush=True)
"""


def _postgres_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def metastore_url():
    if not driver_jars():
        pytest.skip(
            "no PostgreSQL JDBC driver: `make jdbc` (apt-get install libpostgresql-jdbc-java)"
        )
    if not _postgres_up():
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    schema = f"propensity_metastore_{uuid.uuid4().hex[:8]}"
    yield f"{BASE_URL}?currentSchema={schema}"
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway

    gateway = launch_gateway(SparkConf().set("spark.driver.extraClassPath", driver_jars()[0]))
    try:
        props = gateway.jvm.java.util.Properties()
        props.setProperty("user", "postgres")
        connection = gateway.jvm.java.sql.DriverManager.getConnection(BASE_URL, props)
        connection.createStatement().execute(f'drop schema if exists "{schema.upper()}" cascade')
        connection.close()
    finally:
        gateway.shutdown()


def test_two_spark_processes_share_one_postgres_metastore(metastore_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPENSITY_")}
    env.pop("SPARK_REMOTE", None)
    processes = {}
    ended = {me: tmp_path / f"{me}.ended" for me in ("a", "b")}
    logs = {me: tmp_path / f"{me}.log" for me in ("a", "b")}
    sinks = {me: logs[me].open("w") for me in ("a", "b")}
    for me, other in (("a", "b"), ("b", "a")):
        # separate state folders: only the metastore is shared
        home = tmp_path / me
        processes[me] = subprocess.Popen(
            [sys.executable, "-c", PROCESS, me, other, str(ended[other])],
            env={
                **env,
                "PROPENSITY_HOME": str(home),
                "PROPENSITY_METASTORE_URL": metastore_url,
                "SPARK_MASTER": "local[1]",
            },
            cwd=PROJECT_DIR,
            stdout=sinks[me],
            stderr=subprocess.STDOUT,
        )
    # tell each process when the other has ended, so neither waits for a table that will
    # not come; the only clock is a generous bound against a hung JVM
    deadline = time.monotonic() + 900
    while any(p.poll() is None for p in processes.values()) and time.monotonic() < deadline:
        for me, process in processes.items():
            if process.poll() is not None:
                ended[me].touch()
        time.sleep(0.5)
    for process in processes.values():
        if process.poll() is None:
            process.kill()
            process.wait()
    for sink in sinks.values():
        sink.close()
    outputs = {me: logs[me].read_text() for me in processes}
    report = "\n".join(
        f"--- {me} (exit {p.returncode}):\n{outputs[me][-3000:]}" for me, p in processes.items()
    )
    assert all(p.returncode == 0 for p in processes.values()), report
    assert "a read b" in outputs["a"] and "b read a" in outputs["b"], report


def test_a_wrong_metastore_url_says_what_is_supported():
    with pytest.raises(MetastoreError, match="only PostgreSQL is supported"):
        postgres_schema("jdbc:mysql://db/metastore")
    with pytest.raises(MetastoreError, match="letters, digits and underscores"):
        postgres_schema(f"{BASE_URL}?currentSchema=x;drop")
    with pytest.raises(MetastoreError, match="names no schema"):
        postgres_schema(BASE_URL)
    assert postgres_schema(f"{BASE_URL}?currentSchema=propensity_metastore") == (
        "PROPENSITY_METASTORE"
    )
