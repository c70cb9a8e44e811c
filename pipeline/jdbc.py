"""Database tables as sources: a pointer file in the landing folder names the table.

``landing/<source>/<name>.jdbc`` is a small YAML file::

    url: jdbc:postgresql://127.0.0.1:5432/crm
    table: public.customers
    user: loader
    password_env: CRM_PASSWORD   # optional; the password itself is never written in the file
    watermark: updated_at        # optional: load incrementally, rows above the last one loaded

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

    @classmethod
    def read(cls, path: Path) -> JdbcSpec:
        """Parse and validate a pointer file."""
        try:
            spec = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise JdbcSpecError(f"not valid YAML ({exc})") from None
        if not isinstance(spec, dict):
            raise JdbcSpecError("expected a YAML mapping with url and table")
        if "password" in spec:
            raise JdbcSpecError(
                "holds a password: remove it, put the password in an environment variable "
                "and name that variable in password_env"
            )
        unknown = sorted(set(spec) - {"url", "table", "user", "password_env", "watermark"})
        if unknown:
            raise JdbcSpecError(
                f"unknown key(s) {', '.join(unknown)}: use url, table, user, password_env, "
                "watermark"
            )
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
        return cls(url, table, spec.get("user"), spec.get("password_env"), watermark)

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
    df = spark.read.format("jdbc").options(**spec.options()).option("customSchema", custom).load()
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
