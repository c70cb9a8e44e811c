"""Database tables as sources: a pointer file in the landing folder names the table.

``landing/<source>/<name>.jdbc`` is a small YAML file::

    url: jdbc:postgresql://127.0.0.1:5432/crm
    table: public.customers
    user: loader
    password_env: CRM_PASSWORD   # optional; the password itself is never written in the file
    watermark: updated_at        # optional: load incrementally, rows above the last one loaded
    key: customer_id             # optional: with partitions, read in parallel slices of the key
    partitions: 4                # optional (PostgreSQL): slices by a hash of the key

Connection settings shared by several tables go once into ``landing/db_connections.yml``
(or ``.json``), and a pointer names one with ``connection:`` instead of url/user::

    connections:
      crm:
        url: jdbc:postgresql://127.0.0.1:5432/crm
        user: loader
        password_env: CRM_PASSWORD

Ingestion treats the table like a file: every column is read as text and goes through the
same explicit schema, quarantine and audit, and its rows live in the raw table's partition
named after the pointer file, replaced whenever the table's content changes (a snapshot).
Its "hash" is a content fingerprint computed in Spark, so an unchanged table is skipped.
The table name is checked against an identifier pattern and passed as the JDBC ``dbtable``
option; no SQL text is built from it or from any value.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

SUFFIX = ".jdbc"
CONNECTIONS_FILES = ("db_connections.yml", "db_connections.yaml", "db_connections.json")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")
_DRIVERS = {"postgresql": "org.postgresql.Driver", "mysql": "com.mysql.cj.jdbc.Driver"}
DEFAULT_DRIVER_JARS = ("/usr/share/java/postgresql.jar",)


class JdbcSpecError(ValueError):
    """A pointer file that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class JdbcSpec:
    """Where a source's rows come from in a database."""

    url: str
    table: str
    user: str | None = None
    password_env: str | None = None
    watermark: str | None = None
    key: str | None = None
    partitions: int = 1

    @classmethod
    def read(cls, path: Path) -> JdbcSpec:
        """Parse and validate a pointer file (and the connection it names, if any)."""
        try:
            spec = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise JdbcSpecError(f"not valid YAML ({exc})") from None
        if not isinstance(spec, dict):
            raise JdbcSpecError("expected a YAML mapping with url and table")
        _refuse_password(spec)
        keys = {"url", "table", "user", "password_env", "watermark", "key", "partitions"}
        unknown = sorted(set(spec) - keys - {"connection"})
        if unknown:
            raise JdbcSpecError(
                f"unknown key(s) {', '.join(unknown)}: use {', '.join(sorted(keys))} or connection"
            )
        if "connection" in spec:
            if "url" in spec:
                raise JdbcSpecError("names a connection and a url: keep one of them")
            shared = _connection(path.parent.parent, str(spec.pop("connection")))
            spec = {**shared, **spec}
        url, table = str(spec.get("url", "")), str(spec.get("table", ""))
        if not url.startswith("jdbc:"):
            raise JdbcSpecError(f"url {url!r} must be a JDBC URL, e.g. jdbc:postgresql://host/db")
        if not _IDENTIFIER.match(table):
            raise JdbcSpecError(
                f"table {table!r} must be a plain (optionally schema-qualified) table name"
            )
        watermark = spec.get("watermark")
        if watermark is not None and not _IDENTIFIER.match(str(watermark)):
            raise JdbcSpecError(f"watermark {watermark!r} must be a column name")
        key = spec.get("key")
        if key is not None and not _IDENTIFIER.match(str(key)):
            raise JdbcSpecError(f"key {key!r} must be a column name")
        partitions = spec.get("partitions", 1)
        if not isinstance(partitions, int) or not 1 <= partitions <= 256:
            raise JdbcSpecError(f"partitions {partitions!r} must be a whole number, 1 to 256")
        if partitions > 1 and key is None:
            raise JdbcSpecError("partitions needs key: the column to slice the table by")
        if partitions > 1 and not url.startswith("jdbc:postgresql:"):
            raise JdbcSpecError(
                "partitions slice by PostgreSQL's hashtext(key): for another database, "
                "leave partitions out (one reader)"
            )
        return cls(
            url,
            table,
            spec.get("user"),
            spec.get("password_env"),
            watermark,
            None if key is None else str(key),
            partitions,
        )

    def predicates(self, key_column: str | None = None) -> list[str] | None:
        """One WHERE condition per parallel slice: a hash of the key, modulo partitions.
        Built from the validated key name (as the database spells it) and a whole number,
        never from data."""
        if self.partitions <= 1 or not self.key:
            return None
        column = key_column or self.key
        if not _IDENTIFIER.match(column):
            raise JdbcSpecError(f"key column {column!r} is not a plain column name")
        bucket = f'mod(abs(hashtext(cast("{column}" as text))), {self.partitions})'
        return [f"{bucket} = {i}" for i in range(self.partitions)]

    def options(self) -> dict[str, str]:
        """Spark JDBC reader options (the password read from the environment now)."""
        options = {"url": self.url, "dbtable": self.table}
        kind = self.url.split(":")[1] if ":" in self.url else ""
        if kind in _DRIVERS:
            options["driver"] = _DRIVERS[kind]
        if self.user:
            options["user"] = str(self.user)
        if self.password_env:
            if self.password_env not in os.environ:
                raise JdbcSpecError(
                    f"password_env names {self.password_env}, which is not set: export it"
                )
            options["password"] = os.environ[self.password_env]
        return options


def _refuse_password(spec: dict) -> None:
    if "password" in spec:
        raise JdbcSpecError(
            "holds a password: remove it, put the password in an environment variable "
            "and name that variable in password_env"
        )


def _connection(landing: Path, name: str) -> dict:
    """The named entry of the landing folder's connections file."""
    found = [landing / n for n in CONNECTIONS_FILES if (landing / n).is_file()]
    if not found:
        raise JdbcSpecError(
            f"names connection {name!r}, but {landing} has no {CONNECTIONS_FILES[0]}: create "
            "it with connections: {" + name + ": {url: jdbc:..., user: ...}}"
        )
    try:
        content = yaml.safe_load(found[0].read_text()) or {}  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise JdbcSpecError(f"{found[0].name} is not valid YAML or JSON ({exc})") from None
    connections = content.get("connections") if isinstance(content, dict) else None
    if not isinstance(connections, dict) or not isinstance(connections.get(name), dict):
        known = ", ".join(sorted(connections)) if isinstance(connections, dict) else "none"
        raise JdbcSpecError(
            f"names connection {name!r}, which {found[0].name} does not define (it has: {known})"
        )
    entry = connections[name]
    _refuse_password(entry)
    unknown = sorted(set(entry) - {"url", "user", "password_env"})
    if unknown:
        raise JdbcSpecError(
            f"connection {name!r} in {found[0].name} has unknown key(s) {', '.join(unknown)}: "
            "use url, user, password_env"
        )
    return dict(entry)


def driver_jars() -> list[str]:
    """JDBC driver jars to put on Spark's classpath: PROPENSITY_JDBC_JARS (comma-separated)
    or Debian's PostgreSQL driver when it is installed."""
    configured = os.environ.get("PROPENSITY_JDBC_JARS")
    candidates = configured.split(",") if configured else DEFAULT_DRIVER_JARS
    return [jar for jar in candidates if jar and Path(jar).is_file()]


def table_columns(spark, spec: JdbcSpec) -> list[str]:
    """The table's column names (Spark asks the database for the schema only)."""
    return spark.read.format("jdbc").options(**spec.options()).load().columns


def read_as_text(spark, spec: JdbcSpec, names: list[str], since: str | None = None):
    """The source's columns, matched case-insensitively and read as text; with ``since``,
    only rows whose watermark column is above it (Spark pushes the comparison down to the
    database as a bound literal)."""
    from pyspark.sql import functions as F

    actual = {c.lower(): c for c in table_columns(spark, spec)}
    custom = ", ".join(f"`{actual[n]}` STRING" for n in names)
    options = {**spec.options(), "customSchema": custom}
    predicates = spec.predicates(actual.get(spec.key.lower()) if spec.key else None)
    if predicates:
        url = options.pop("url")
        table = options.pop("dbtable")
        df = spark.read.jdbc(url, table, predicates=predicates, properties=options)
    else:
        df = spark.read.format("jdbc").options(**options).load()
    if since is not None and spec.watermark:
        df = df.where(df[actual[spec.watermark.lower()]] > F.lit(since))
    return df.select(*[df[actual[n]].alias(n) for n in names])


def fingerprint(
    spark, spec: JdbcSpec, names: list[str], pointer: bytes, since: str | None = None
) -> tuple[str, int]:
    """Content hash of the (new) rows, order-independent, with the pointer file itself; and
    how many rows there are."""
    from pyspark.sql import functions as F

    df = read_as_text(spark, spec, names, since)
    row = df.select(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.xxhash64(*[F.col(n) for n in names]).cast("decimal(38,0)")).alias("h"),
    ).first()
    digest = hashlib.sha256(pointer + f"|{since}|{row['n']}|{row['h']}".encode()).hexdigest()
    return digest, int(row["n"])
