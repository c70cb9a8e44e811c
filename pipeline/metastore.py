"""The metastore: embedded Derby by default, or a shared PostgreSQL one when configured.

Say at once, in one line, when another process holds the embedded Derby metastore.

Derby admits one process per metastore. Without this check a second Spark process retries
for minutes and ends, tens of thousands of log lines later, in `Unable to instantiate
SessionHiveMetaStoreClient`. Derby holds an exclusive POSIX lock on `metastore_db/dbex.lck`
while a database is booted, so the holder can be found in /proc/locks (Linux), or the lock
tested with fcntl elsewhere.
"""

from __future__ import annotations

import errno
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

LOCK_FILE = Path("metastore_db") / "dbex.lck"


class MetastoreInUse(RuntimeError):
    """Another process has the embedded metastore open; the message says what to do."""


class MetastoreError(RuntimeError):
    """The shared metastore is misconfigured or unreachable; the message says what to do."""


SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def shared_metastore_url() -> str | None:
    """PROPENSITY_METASTORE_URL: a PostgreSQL metastore several JVMs share (None: Derby)."""
    return os.environ.get("PROPENSITY_METASTORE_URL") or None


def postgres_schema(url: str) -> str:
    """The PostgreSQL schema of a metastore URL's ``currentSchema=``, as DataNucleus names it:
    upper-cased (it quotes identifiers, so the schema is created with that exact name)."""
    if not url.startswith("jdbc:postgresql://"):
        raise MetastoreError(
            f"PROPENSITY_METASTORE_URL={url!r}: only PostgreSQL is supported as a shared "
            "metastore, e.g. jdbc:postgresql://127.0.0.1:5432/test?currentSchema="
            "propensity_metastore (unset it for the embedded Derby metastore)"
        )
    values = parse_qs(urlsplit(url[len("jdbc:") :]).query).get("currentSchema")
    if not values:
        raise MetastoreError(
            f"PROPENSITY_METASTORE_URL={url!r} names no schema: add ?currentSchema=NAME, e.g. "
            "?currentSchema=propensity_metastore (the project keeps its metastore apart)"
        )
    schema = values[0]
    if not SCHEMA_NAME.match(schema.lower()):
        raise MetastoreError(
            f"PROPENSITY_METASTORE_URL: currentSchema={schema!r} must be a name of letters, "
            "digits and underscores"
        )
    return schema.upper()


# pg_advisory_lock key: first use of a fresh shared metastore, one process at a time
INIT_LOCK_KEY = 7_402_118_305


@contextmanager
def shared_metastore_ready():
    """Prepare the shared PostgreSQL metastore for a Spark process starting inside the block.

    Creates the schema when missing, under the lock below (two concurrent `create schema if
    not exists` can fail in PostgreSQL). DataNucleus creates the metastore's tables on first
    use, and two JVMs doing that at once fail ("relation VERSION does not exist"), so while
    the tables do not exist yet the block runs under a PostgreSQL advisory lock: the body
    should start Spark and touch the catalog. Yields whether this process initialises it.
    Nothing happens for the embedded Derby metastore."""
    url = shared_metastore_url()
    schema = postgres_schema(url) if url else None
    if url is None:
        yield False
        return
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway

    from pipeline.jdbc import driver_jars

    jars = driver_jars()
    if not jars:
        raise MetastoreError(
            "PROPENSITY_METASTORE_URL points at PostgreSQL but no PostgreSQL JDBC driver is "
            "installed: run `make jdbc` (Debian's libpostgresql-jdbc-java) or set "
            "PROPENSITY_JDBC_JARS to the driver's jar"
        )
    gateway = launch_gateway(SparkConf().set("spark.driver.extraClassPath", os.pathsep.join(jars)))
    try:
        jvm = gateway.jvm
        props = jvm.java.util.Properties()
        props.setProperty("user", os.environ.get("PROPENSITY_METASTORE_USER", "postgres"))
        password = os.environ.get("PROPENSITY_METASTORE_PASSWORD")
        if password:
            props.setProperty("password", password)
        try:
            connection = jvm.java.sql.DriverManager.getConnection(url, props)
        except Exception as exc:  # py4j wraps the JVM's SQLException
            lines = str(exc).strip().splitlines() or [repr(exc)]
            reason = next((ln for ln in lines if "PSQLException" in ln), lines[-1])
            raise MetastoreError(
                f"cannot reach the shared metastore {url}: {reason.strip()}. Check that "
                "PostgreSQL runs, and PROPENSITY_METASTORE_USER / PROPENSITY_METASTORE_PASSWORD"
            ) from None

        def advisory(call: str) -> None:
            statement = connection.prepareStatement(f"select {call}(?)")
            statement.setLong(1, INIT_LOCK_KEY)
            statement.execute()

        try:
            # Under the lock from the schema on: two processes that both run `create schema
            # if not exists` at once can make PostgreSQL raise a unique violation.
            advisory("pg_advisory_lock")
            locked = True
            try:
                # the name matched SCHEMA_NAME: letters, digits and underscores, quoted
                connection.createStatement().execute(f'create schema if not exists "{schema}"')
                found = connection.prepareStatement(
                    "select count(*) from information_schema.tables "
                    "where table_schema = ? and table_name = 'VERSION'"
                )
                found.setString(1, schema)
                result = found.executeQuery()
                result.next()
                if result.getLong(1) > 0:
                    advisory("pg_advisory_unlock")
                    locked = False
                    yield False
                    return
                yield True
            finally:
                if locked:
                    advisory("pg_advisory_unlock")
        finally:
            connection.close()
    finally:
        gateway.shutdown()
        gateway.proc.stdin.close()


def initialise_metastore(spark) -> None:
    """Touch what a pipeline uses of the metastore (databases, tables, partitions), so that
    DataNucleus creates those tables now, under the lock of `shared_metastore_ready`."""
    spark.sql("create database if not exists _propensity_metastore_init")
    spark.sql(
        "create table if not exists _propensity_metastore_init.probe (x int, part string) "
        "using parquet partitioned by (part)"
    )
    spark.sql("insert overwrite _propensity_metastore_init.probe values (1, 'a')")
    spark.sql("drop database _propensity_metastore_init cascade")


def _holder_from_proc_locks(lock: Path) -> int | None:
    """The pid holding a POSIX lock on ``lock``, from /proc/locks; None when nobody does."""
    inode = lock.stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # "1: POSIX  ADVISORY  WRITE 19317 fe:00:2146322 0 EOF"
        if len(fields) >= 6 and fields[1] == "POSIX" and fields[5].endswith(f":{inode}"):
            return int(fields[4])
    return None


def _held_by_another_process(lock: Path) -> bool:
    """Whether another process holds a lock on ``lock`` (tested, then released at once)."""
    import fcntl

    with open(lock, "rb+") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                return True
            raise
        fcntl.lockf(handle, fcntl.LOCK_UN)
    return False


def _command_of(pid: int) -> str:
    """A short description of a process: its command line, and its parent's for a JVM."""

    def cmdline(p: int) -> str:
        try:
            raw = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            return ""
        return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)

    text = cmdline(pid)
    if text.split(" ")[0].endswith("java"):
        parent = _parent_of(pid)
        text = (
            f"Spark's JVM, started by pid {parent}: {cmdline(parent)}"
            if parent is not None
            else "a Java process (Spark)"
        )
    return text[:160] + ("…" if len(text) > 160 else "")


def _parent_of(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("PPid")))
    except (OSError, StopIteration, ValueError):
        return None


def _holder(lock: Path) -> tuple[bool, int | None]:
    try:
        pid = _holder_from_proc_locks(lock)
        return pid is not None, pid
    except (OSError, ValueError):
        return _held_by_another_process(lock), None


def check_metastore_free(metastore_dir: Path, orphan_grace_seconds: float = 30.0) -> None:
    """Raise MetastoreInUse naming the holder when another process has the metastore open.

    A JVM whose Python parent has exited (now a child of init) is a previous command's
    Spark shutting down: wait for it, up to ``orphan_grace_seconds``. Anything else fails
    at once."""
    if shared_metastore_url():  # PostgreSQL admits many processes
        return
    lock = Path(metastore_dir) / LOCK_FILE
    if not lock.is_file():
        return
    held, pid = _holder(lock)
    deadline = time.monotonic() + orphan_grace_seconds
    while held and pid is not None and _parent_of(pid) == 1 and time.monotonic() < deadline:
        time.sleep(0.5)
        held, pid = _holder(lock)
    if not held or pid == os.getpid():
        return
    who = f"process {pid} ({_command_of(pid)})" if pid else "another process"
    raise MetastoreInUse(
        f"the metastore {metastore_dir} is in use by {who}; the embedded Derby metastore "
        "admits one process at a time. Wait for it to finish or stop it; to share the "
        "warehouse, run `propensity warehouse start` (commands then go through it), or give "
        "this command its own PROPENSITY_HOME."
    )
