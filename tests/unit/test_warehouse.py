"""The warehouse server's settings, command line and routing, without starting Spark."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline import warehouse
from pipeline.warehouse import ServerSettings, WarehouseError
from serving.layout import Paths


def test_defaults_bind_loopback_without_authentication():
    settings = ServerSettings.from_env({})
    assert (settings.host, settings.thrift_port, settings.connect_port) == (
        "127.0.0.1",
        10000,
        15002,
    )
    assert settings.jdbc_url == "jdbc:hive2://127.0.0.1:10000/analytics"
    assert settings.hive_settings()["hive.server2.authentication"] == "NONE"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PROPENSITY_WAREHOUSE_THRIFT_PORT": "ten"}, "is not a port number"),
        ({"PROPENSITY_WAREHOUSE_CONNECT_PORT": "70000"}, "is not a port number"),
        ({"PROPENSITY_WAREHOUSE_AUTH": "kerberos"}, "use one of none, ldap, custom"),
        ({"PROPENSITY_WAREHOUSE_AUTH": "ldap"}, "needs PROPENSITY_WAREHOUSE_LDAP_URL"),
        ({"PROPENSITY_WAREHOUSE_AUTH": "custom"}, "needs PROPENSITY_WAREHOUSE_AUTH_CLASS"),
    ],
)
def test_a_wrong_setting_names_the_variable_and_the_fix(env, message):
    with pytest.raises(WarehouseError, match=message):
        ServerSettings.from_env(env)


def test_ldap_settings_reach_hiveserver2():
    settings = ServerSettings.from_env(
        {
            "PROPENSITY_WAREHOUSE_AUTH": "ldap",
            "PROPENSITY_WAREHOUSE_LDAP_URL": "ldap://ldap.example.com:389",
            "PROPENSITY_WAREHOUSE_LDAP_BASE_DN": "ou=people,dc=example,dc=com",
        }
    )
    hive = settings.hive_settings()
    assert hive["hive.server2.authentication"] == "LDAP"
    assert hive["hive.server2.authentication.ldap.url"] == "ldap://ldap.example.com:389"
    assert hive["hive.server2.authentication.ldap.baseDN"] == "ou=people,dc=example,dc=com"


def test_binding_beyond_loopback_without_authentication_is_refused(tmp_path):
    settings = ServerSettings.from_env({"PROPENSITY_WAREHOUSE_HOST": "0.0.0.0"})
    with pytest.raises(WarehouseError, match="--allow-unauthenticated"):
        warehouse.start(Paths.from_env(tmp_path), settings)


def test_the_server_command_is_an_argument_list_with_both_protocols(tmp_path):
    command = warehouse.server_command(
        Paths.from_env(tmp_path), ServerSettings.from_env({}), "local[2]", "4g"
    )
    assert command[0].endswith("bin/spark-submit")
    assert command[command.index("--class") + 1] == warehouse.THRIFT_CLASS
    assert f"spark.plugins={warehouse.CONNECT_PLUGIN}" in command
    assert "spark.connect.grpc.binding.address=127.0.0.1" in command
    assert "hive.server2.thrift.bind.host=127.0.0.1" in command
    assert not any(part.startswith("spark.master=") for part in command)


def test_conf_settings_reach_the_server_and_override_the_defaults(tmp_path):
    confs = warehouse.parse_confs(["spark.executor.memory=8g", "spark.app.name=team"])
    command = warehouse.server_command(
        Paths.from_env(tmp_path), ServerSettings.from_env({}), "spark://h:7077", "4g", confs
    )
    assert "spark.executor.memory=8g" in command
    assert "spark.app.name=team" in command
    assert "spark.app.name=customer-propensity-warehouse" not in command


@pytest.mark.parametrize("pair", ["spark.executor.memory", "executor.memory=8g", "spark.x="])
def test_a_malformed_conf_says_how_to_write_it(pair):
    with pytest.raises(WarehouseError, match="spark.<setting>=<value>"):
        warehouse.parse_confs([pair])


def test_no_server_or_a_dead_one_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    paths = Paths.from_env(tmp_path)
    assert warehouse.route_through_server(paths) is None
    exited = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    state = {
        "pid": int(exited.stdout),
        "host": "127.0.0.1",
        "thrift_port": 10000,
        "connect_port": 15002,
        "auth": "none",
        "log_file": str(tmp_path / "log"),
        "started_at": "2026-11-25T00:00:00",
    }
    (tmp_path / warehouse.STATE_FILE).write_text(json.dumps(state))
    assert warehouse.read_state(paths) is not None
    assert warehouse.route_through_server(paths) is None
    assert "SPARK_REMOTE" not in os.environ
