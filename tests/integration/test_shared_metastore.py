"""A PostgreSQL-backed metastore: two Spark JVMs at once, each sees the other's tables.

Runs on the real PostgreSQL at 127.0.0.1:5432 (trust auth, database `test`) in a schema of
its own, which `propensity`'s setup creates; DataNucleus creates the metastore tables.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from pipeline.config import PROJECT_DIR
from pipeline.jdbc import driver_jars
from pipeline.metastore import MetastoreError, postgres_schema

pytestmark = pytest.mark.spark

BASE_URL = "jdbc:postgresql://127.0.0.1:5432/test"

# each process writes its own table, waits until the other's appears, and reads it
PROCESS = """
import sys, time
from pipeline.spark import get_spark
me, other = sys.argv[1], sys.argv[2]
spark = get_spark()
spark.sql("create database if not exists shared_demo")
spark.sql(f"create table shared_demo.from_{me} using parquet as select '{me}' as writer")
deadline = time.monotonic() + 240
while not spark.catalog.tableExists(f"shared_demo.from_{other}"):
    if time.monotonic() > deadline:
        sys.exit(f"{me}: never saw shared_demo.from_{other}")
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
    for me, other in (("a", "b"), ("b", "a")):
        # separate state folders: only the metastore is shared
        home = tmp_path / me
        processes[me] = subprocess.Popen(
            [sys.executable, "-c", PROCESS, me, other],
            env={
                **env,
                "PROPENSITY_HOME": str(home),
                "PROPENSITY_METASTORE_URL": metastore_url,
                "SPARK_MASTER": "local[1]",
            },
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    outputs = {me: p.communicate(timeout=400)[0] for me, p in processes.items()}
    for me, process in processes.items():
        assert process.returncode == 0, outputs[me][-3000:]
    assert "a read b" in outputs["a"] and "b read a" in outputs["b"]


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
