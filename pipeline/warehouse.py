"""The warehouse server: one Spark JVM on the project's warehouse and metastore, for analysts
and pipelines at once.

`propensity warehouse start` runs Spark's Thrift server (HiveServer2 protocol, for beeline,
DBeaver and any JDBC or ODBC tool) with Spark Connect loaded as a plugin in the same JVM.
While it runs, `propensity run`, `propensity dbt …`, `propensity sql` and a plain `dbt build`
find it (its state file in PROPENSITY_HOME) and send their work through Spark Connect, so the
embedded Derby metastore has one user, the server, and nothing waits for it.

Settings (environment, each with a loopback-safe default):

* PROPENSITY_WAREHOUSE_HOST (127.0.0.1), PROPENSITY_WAREHOUSE_THRIFT_PORT (10000),
  PROPENSITY_WAREHOUSE_CONNECT_PORT (15002);
* PROPENSITY_WAREHOUSE_AUTH: ``none`` (the default), ``ldap`` (with
  PROPENSITY_WAREHOUSE_LDAP_URL and optionally PROPENSITY_WAREHOUSE_LDAP_BASE_DN) or
  ``custom`` (PROPENSITY_WAREHOUSE_AUTH_CLASS, a HiveServer2 PasswdAuthenticationProvider on
  the classpath, e.g. via PROPENSITY_WAREHOUSE_JARS). Spark Connect authenticates with a
  pre-shared token when SPARK_CONNECT_AUTHENTICATE_TOKEN is set. Binding beyond loopback
  without authentication is refused unless asked for explicitly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from serving.layout import PROJECT_DIR, Paths

log = logging.getLogger(__name__)

STATE_FILE = "warehouse-server.json"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
AUTH_MODES = ("none", "ldap", "custom")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class WarehouseError(RuntimeError):
    """The server could not start, or a setting is wrong; the message says what to do."""


@dataclass(frozen=True)
class ServerSettings:
    """Where the server listens and how it authenticates."""

    host: str = "127.0.0.1"
    thrift_port: int = 10000
    connect_port: int = 15002
    auth: str = "none"
    ldap_url: str = ""
    ldap_base_dn: str = ""
    auth_class: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ServerSettings:
        """Read PROPENSITY_WAREHOUSE_* settings, checking each one."""
        environ = dict(os.environ if env is None else env)

        def port(name: str, default: int) -> int:
            text = environ.get(name) or str(default)
            if not text.isdigit() or not 0 < int(text) < 65536:
                raise WarehouseError(f"{name}={text!r} is not a port number (1-65535)")
            return int(text)

        auth = (environ.get("PROPENSITY_WAREHOUSE_AUTH") or "none").lower()
        if auth not in AUTH_MODES:
            raise WarehouseError(
                f"PROPENSITY_WAREHOUSE_AUTH={auth!r}: use one of {', '.join(AUTH_MODES)}"
            )
        settings = cls(
            host=environ.get("PROPENSITY_WAREHOUSE_HOST") or "127.0.0.1",
            thrift_port=port("PROPENSITY_WAREHOUSE_THRIFT_PORT", 10000),
            connect_port=port("PROPENSITY_WAREHOUSE_CONNECT_PORT", 15002),
            auth=auth,
            ldap_url=environ.get("PROPENSITY_WAREHOUSE_LDAP_URL", ""),
            ldap_base_dn=environ.get("PROPENSITY_WAREHOUSE_LDAP_BASE_DN", ""),
            auth_class=environ.get("PROPENSITY_WAREHOUSE_AUTH_CLASS", ""),
        )
        if auth == "ldap" and not settings.ldap_url:
            raise WarehouseError(
                "PROPENSITY_WAREHOUSE_AUTH=ldap needs PROPENSITY_WAREHOUSE_LDAP_URL, "
                "e.g. ldap://ldap.example.com:389"
            )
        if auth == "custom" and not settings.auth_class:
            raise WarehouseError(
                "PROPENSITY_WAREHOUSE_AUTH=custom needs PROPENSITY_WAREHOUSE_AUTH_CLASS, a "
                "class implementing org.apache.hive.service.auth.PasswdAuthenticationProvider"
            )
        return settings

    @property
    def jdbc_url(self) -> str:
        return _jdbc_url(self.host, self.thrift_port)

    def hive_settings(self) -> dict[str, str]:
        """HiveServer2 settings for the Thrift server (bind address, port, authentication)."""
        conf = {
            "hive.server2.thrift.bind.host": self.host,
            "hive.server2.thrift.port": str(self.thrift_port),
            "hive.server2.authentication": self.auth.upper(),
            # queries run as the server's user: the warehouse files are the project's own
            "hive.server2.enable.doAs": "false",
        }
        if self.auth == "ldap":
            conf["hive.server2.authentication.ldap.url"] = self.ldap_url
            if self.ldap_base_dn:
                conf["hive.server2.authentication.ldap.baseDN"] = self.ldap_base_dn
        if self.auth == "custom":
            conf["hive.server2.custom.authentication.class"] = self.auth_class
        return conf


@dataclass(frozen=True)
class ServerState:
    """What `start` records in PROPENSITY_HOME for `status`, `stop` and the routing."""

    pid: int
    host: str
    thrift_port: int
    connect_port: int
    auth: str
    log_file: str
    started_at: str

    @property
    def connect_url(self) -> str:
        return f"sc://{_client_host(self.host)}:{self.connect_port}"

    @property
    def jdbc_url(self) -> str:
        return _jdbc_url(self.host, self.thrift_port)


def _client_host(host: str) -> str:
    """Where a client on this machine reaches a server bound to ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _jdbc_url(host: str, port: int) -> str:
    return f"jdbc:hive2://{_client_host(host)}:{port}/analytics"


def spark_home() -> Path:
    """The Spark distribution pyspark ships (bin/spark-submit, bin/beeline, jars/)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def beeline_command(state: ServerState) -> str:
    """A ready-to-paste beeline command for this server."""
    return f"{spark_home() / 'bin' / 'beeline'} -u {state.jdbc_url}"


def _state_path(paths: Paths) -> Path:
    return paths.home / STATE_FILE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child (started by this process, exited, not yet reaped) is not alive
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return "\nState:\tZ" not in status
    except OSError:
        return True


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        socket.create_connection((_client_host(host), port), timeout=timeout).close()
        return True
    except OSError:
        return False


def read_state(paths: Paths) -> ServerState | None:
    """The recorded server, or None when none was started here (a broken file counts as none)."""
    try:
        return ServerState(**json.loads(_state_path(paths).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def running(paths: Paths) -> ServerState | None:
    """The server of this PROPENSITY_HOME when it is up and accepting Spark Connect clients."""
    state = read_state(paths)
    if state is None or not _alive(state.pid):
        return None
    return state if port_open(state.host, state.connect_port) else None


def route_through_server(paths: Paths) -> str | None:
    """Send this process's Spark work to the running warehouse server, if there is one.

    Sets SPARK_REMOTE (unless the user set it) and returns the URL; None when no server of
    this PROPENSITY_HOME runs, in which case nothing changes."""
    if os.environ.get("SPARK_REMOTE"):
        return None
    state = running(paths)
    if state is None:
        return None
    os.environ["SPARK_REMOTE"] = state.connect_url
    return state.connect_url


def parse_confs(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` Spark settings from the command line, each checked."""
    confs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.startswith("spark.") or not value or "\n" in pair:
            raise WarehouseError(
                f"--conf {pair!r}: write it as spark.<setting>=<value>, "
                "e.g. --conf spark.executor.memory=8g"
            )
        confs[key.strip()] = value.strip()
    return confs


def _server_confs(settings: ServerSettings, driver_memory: str) -> dict[str, str]:
    """Spark settings of the server: the `local` target's, plus Hive, Connect and the JDBC
    drivers (for database sources and a PostgreSQL metastore)."""
    from pipeline.jdbc import driver_jars
    from pipeline.spark import spark_settings

    env = {**os.environ, "SPARK_DRIVER_MEMORY": driver_memory}
    confs = spark_settings(target="local", env=env)
    confs.pop("spark.master", None)
    confs.pop("spark.driver.memory", None)
    confs.update(
        {
            "spark.app.name": "customer-propensity-warehouse",
            "spark.sql.catalogImplementation": "hive",
            "spark.plugins": CONNECT_PLUGIN,
            "spark.connect.grpc.binding.address": settings.host,
            "spark.connect.grpc.binding.port": str(settings.connect_port),
            "spark.pyspark.python": sys.executable,
            "spark.pyspark.driver.python": sys.executable,
        }
    )
    jars = [*driver_jars(), *_extra_jars()]
    if jars:
        confs["spark.jars"] = ",".join(jars)
        confs["spark.driver.extraClassPath"] = os.pathsep.join(jars)
    return confs


def _extra_jars() -> list[str]:
    """PROPENSITY_WAREHOUSE_JARS: jars for the server only (say, a custom authenticator)."""
    text = os.environ.get("PROPENSITY_WAREHOUSE_JARS", "")
    missing = [jar for jar in text.split(",") if jar and not Path(jar).is_file()]
    if missing:
        raise WarehouseError(f"PROPENSITY_WAREHOUSE_JARS names missing files: {missing}")
    return [jar for jar in text.split(",") if jar]


def server_command(
    paths: Paths,
    settings: ServerSettings,
    master: str,
    driver_memory: str,
    extra_confs: dict[str, str] | None = None,
) -> list[str]:
    """The spark-submit command line of the server (no shell: every value is one argument)."""
    command = [
        str(spark_home() / "bin" / "spark-submit"),
        "--master",
        master,
        "--driver-memory",
        driver_memory,
        "--name",
        "customer-propensity-warehouse",
        "--class",
        THRIFT_CLASS,
    ]
    confs = {**_server_confs(settings, driver_memory), **(extra_confs or {})}
    for key, value in confs.items():
        command += ["--conf", f"{key}={value}"]
    command.append("spark-internal")  # spark-submit's name for "the class is on the classpath"
    for key, value in settings.hive_settings().items():
        command += ["--hiveconf", f"{key}={value}"]
    return command


def start(
    paths: Paths,
    settings: ServerSettings,
    *,
    master: str | None = None,
    driver_memory: str | None = None,
    allow_unauthenticated: bool = False,
    extra_confs: dict[str, str] | None = None,
    timeout: float = 180.0,
) -> ServerState:
    """Start the server in the background and wait until both protocols answer."""
    from datetime import datetime

    from pipeline.metastore import check_metastore_free, shared_metastore_ready
    from pipeline.spark import size_spark

    if settings.host not in LOOPBACK and settings.auth == "none" and not allow_unauthenticated:
        raise WarehouseError(
            f"binding to {settings.host} with no authentication would let anyone on the "
            "network read and change the warehouse. Set PROPENSITY_WAREHOUSE_AUTH=ldap (or "
            "custom) and SPARK_CONNECT_AUTHENTICATE_TOKEN, or pass --allow-unauthenticated."
        )
    current = running(paths)
    if current is not None:
        raise WarehouseError(
            f"a warehouse server already runs for {paths.home} (pid {current.pid}): "
            f"{current.jdbc_url}. Stop it first with `propensity warehouse stop`."
        )
    for port in (settings.thrift_port, settings.connect_port):
        if port_open(settings.host, port):
            raise WarehouseError(
                f"port {port} on {settings.host} is already in use by another program: choose "
                "free ports with PROPENSITY_WAREHOUSE_THRIFT_PORT / _CONNECT_PORT"
            )
    check_metastore_free(paths.metastore)
    memory = (
        driver_memory
        or size_spark(paths.landing).get("SPARK_DRIVER_MEMORY")
        or (os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
    )
    master = master or os.environ.get("SPARK_MASTER") or "local[2]"
    paths.home.mkdir(parents=True, exist_ok=True)
    logs = paths.home / "logs"
    logs.mkdir(exist_ok=True)
    log_file = logs / "warehouse-server.log"
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "PYSPARK_PYTHON": sys.executable,
        "PROPENSITY_HOME": str(paths.home),
    }
    env.pop("SPARK_REMOTE", None)
    command = server_command(paths, settings, master, memory, extra_confs)
    log.info(
        "starting the warehouse server (%s, driver memory %s); log: %s", master, memory, log_file
    )
    # a fresh shared metastore is initialised by one JVM at a time: hold its lock until
    # the server is up (it opens the metastore while starting)
    with shared_metastore_ready():
        with log_file.open("w") as out:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_DIR,  # relative paths in profiles.yml resolve from the project
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives this command; `stop` signals its group
            )
        state = ServerState(
            pid=process.pid,
            host=settings.host,
            thrift_port=settings.thrift_port,
            connect_port=settings.connect_port,
            auth=settings.auth,
            log_file=str(log_file),
            started_at=datetime.now().isoformat(timespec="seconds"),
        )
        _state_path(paths).write_text(json.dumps(asdict(state), indent=2) + "\n")
        deadline = time.monotonic() + timeout
        waiting = {"Spark Connect": settings.connect_port, "Thrift (JDBC)": settings.thrift_port}
        last_report = 0.0
        while waiting:
            if process.poll() is not None:
                _state_path(paths).unlink(missing_ok=True)
                raise WarehouseError(
                    f"the warehouse server exited with code {process.returncode} while starting. "
                    f"Last lines of {log_file}:\n{_tail(log_file)}"
                )
            if time.monotonic() > deadline:
                stop(paths)
                raise WarehouseError(
                    f"the warehouse server did not open {', '.join(waiting)} within "
                    f"{timeout:.0f}s; stopped it. Last lines of {log_file}:\n{_tail(log_file)}"
                )
            for name, port in list(waiting.items()):
                if port_open(settings.host, port):
                    log.info("%s is up on %s:%d", name, settings.host, port)
                    del waiting[name]
            if waiting and time.monotonic() - last_report > 15:
                log.info("waiting for %s …", " and ".join(waiting))
                last_report = time.monotonic()
            time.sleep(0.5)
    return state


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def stop(paths: Paths, timeout: float = 60.0) -> ServerState | None:
    """Stop this PROPENSITY_HOME's server (SIGTERM, then SIGKILL); return what was stopped."""
    state = read_state(paths)
    if state is None:
        return None
    if _alive(state.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(state.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        if _alive(state.pid):
            log.warning("the server did not stop within %.0fs: killing it", timeout)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(state.pid, signal.SIGKILL)
    _state_path(paths).unlink(missing_ok=True)
    return state
