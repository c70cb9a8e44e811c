"""Load landing files (CSV, JSON lines, Parquet) into raw tables with PySpark.

* Every source has an explicit schema (``SOURCES``). Files are read as text first and cast
  column by column, so a bad value is reported with its field instead of becoming a null.
* Records that fail are written to ``raw._quarantine`` with the file, the record and a
  reason; they are neither loaded nor dropped silently.
* Raw tables are partitioned by source file. A file's checked rows are staged once, in that
  layout, and its folder then replaces the file's partition (moved, not copied; copied with
  dynamic partition overwrite through Spark Connect). Files already loaded with the same
  SHA-256 are skipped. Re-running adds nothing twice, and
  a corrected file replaces exactly the rows that came from its earlier version.
* ``raw._load_audit`` gets one row per file loaded: rows read, loaded and rejected.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import hashlib
import io
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml

from pipeline import jdbc
from pipeline.spark import RAW_SCHEMA

log = logging.getLogger(__name__)

QUARANTINE = "_quarantine"
# Bounds on every value: a date outside this window or a number beyond this magnitude is a
# typo or a sentinel (9999-12-31, 1e308, Infinity), never data. Quarantined with the reason.
EARLIEST_PLAUSIBLE_DATE = "1900-01-01"
LARGEST_PLAUSIBLE_NUMBER = 1e12
# A file losing more than this share of its records to quarantine stops the load: it is
# more likely a wrong export (delimiter, columns, encoding) than a few bad rows.
# PROPENSITY_MAX_REJECTED_SHARE or --max-rejected-share changes it.
MAX_REJECTED_SHARE = 0.20
AUDIT = "_load_audit"
FILE_COLUMN = "_source_file"
EXTENSIONS = {"csv": (".csv",), "json": (".json", ".jsonl"), "parquet": (".parquet",)}


class IngestError(Exception):
    """A landing file cannot be loaded at all; the message says which and what to do."""


@dataclass(frozen=True)
class Column:
    """One column of a source: name, Spark SQL type, whether a value is required, and
    whether an unparseable value rejects the record (``strict``) or only becomes null.

    An optional field that cannot be parsed becomes null, the record loads, and the issue is
    kept in the quarantine as a field-level issue. Optional fields whose null has a meaning
    of its own are strict: a missing ``closed_date`` means the account is open, and a
    missing amount or posting time would change every feature built on them. Values that
    parse but are implausible (far-off dates, non-finite numbers) reject the record always.
    """

    name: str
    type: str = "string"
    required: bool = False
    strict: bool = False
    # a money amount whose negative values are refunds, or errors (--negative-amounts)
    signed_amount: bool = False

    @property
    def lenient(self) -> bool:
        """An unparseable value becomes null with a field-level issue."""
        return not (self.required or self.strict) and self.type != "string"


@dataclass(frozen=True)
class Source:
    """A landing folder and the raw table its files load into."""

    name: str
    format: str
    columns: tuple[Column, ...]
    required: bool = False
    description: str = ""
    # how a textual value becomes the column's type; default try_cast(value as type)
    parsers: dict[str, str] = field(default_factory=dict)

    def table(self, schema: str = RAW_SCHEMA) -> str:
        """The raw table this source loads into."""
        return f"{schema}.{self.name}"


def _c(name: str, type_: str = "string", required: bool = False, strict: bool = False) -> Column:
    return Column(name, type_, required, strict)


SOURCES: dict[str, Source] = {
    s.name: s
    for s in [
        Source(
            "customers",
            "csv",
            required=True,
            description="Customer master export: one row per customer version.",
            columns=(
                _c("customer_id", required=True),
                _c("first_name"),
                _c("email"),
                _c("birth_date", "date"),
                _c("region"),
                _c("customer_segment"),
                _c("signup_date", "date", True),
                _c("updated_at", "timestamp", True),
            ),
        ),
        Source(
            "transactions",
            "csv",
            required=True,
            description="Card and account transactions, one file per posting month.",
            columns=(
                _c("transaction_id", required=True),
                _c("customer_id", required=True),
                _c("transaction_at", "timestamp", True),
                _c("posted_at", "timestamp", strict=True),
                Column("amount", "double", strict=True, signed_amount=True),
                _c("channel"),
                _c("merchant_category"),
            ),
        ),
        Source(
            "accounts",
            "csv",
            description="Accounts and products held, with open/close dates and fees.",
            columns=(
                _c("account_id", required=True),
                _c("customer_id", required=True),
                _c("product"),
                _c("opened_date", "date", True),
                _c("closed_date", "date", strict=True),
                _c("status"),
                _c("monthly_fee", "double"),
                _c("balance", "double"),
            ),
        ),
        Source(
            "support_interactions",
            "json",
            description="Support contacts (JSON lines) with topic and satisfaction.",
            columns=(
                _c("interaction_id", required=True),
                _c("customer_id", required=True),
                _c("created_at", "timestamp", True),
                _c("channel"),
                _c("topic"),
                _c("satisfaction_score", "int"),
                _c("is_resolved", "boolean"),
            ),
        ),
        Source(
            "marketing_offers",
            "parquet",
            description="Marketing offers sent and the customer's response.",
            columns=(
                _c("offer_id", required=True),
                _c("customer_id", required=True),
                _c("campaign"),
                _c("offered_at", "timestamp", True),
                _c("response"),
                _c("responded_at", "timestamp", strict=True),
            ),
        ),
        Source(
            "economic_indicators",
            "csv",
            description="Third-party monthly economic indicators by region.",
            columns=(
                _c("region", required=True),
                _c("month", "date", True),
                _c("unemployment_rate", "double"),
                _c("consumer_confidence", "double"),
                _c("policy_interest_rate", "double"),
            ),
            parsers={"month": "try_cast(concat({v}, '-01') as date)"},
        ),
    ]
}


@dataclass
class FileResult:
    """What happened to one landing file."""

    source: str
    file_name: str
    status: str  # loaded | skipped
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0


def _open_text_bytes(path: Path):
    """The file's content as a binary stream, decompressed when it ends in .gz."""
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


SETTINGS_FILE = "_source.yml"
# Python codec name -> the Java charset Spark reads with
ENCODINGS = {"utf-8": "UTF-8", "iso8859-1": "ISO-8859-1"}


@dataclass(frozen=True)
class FileSettings:
    """How a source's files are written, from ``landing/<source>/_source.yml`` (optional)::

    encoding: latin-1   # utf-8 (default) or latin-1 (iso-8859-1); convert others to UTF-8
    delimiter: ";"      # CSV only; detected from the header when left out
    """

    encoding: str = "utf-8"
    delimiter: str | None = None

    @property
    def spark_encoding(self) -> str:
        return ENCODINGS[self.encoding]


def file_settings(path: Path) -> FileSettings:
    """The settings of the folder a landing file is in."""
    settings = path.parent / SETTINGS_FILE
    if not settings.is_file():
        return FileSettings()
    try:
        spec = yaml.safe_load(settings.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise IngestError(f"{settings}: not valid YAML ({exc}); fix it and re-run") from None
    if not isinstance(spec, dict) or set(spec) - {"encoding", "delimiter"}:
        raise IngestError(
            f"{settings}: expected a mapping with encoding and/or delimiter, e.g. "
            "'encoding: latin-1'; fix it and re-run"
        )
    encoding = str(spec.get("encoding", "utf-8"))
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = encoding
    if name not in ENCODINGS:
        raise IngestError(
            f"{settings}: encoding {encoding!r} is not supported: use utf-8 or latin-1 "
            "(convert other encodings with `iconv -t utf-8`)"
        )
    delimiter = spec.get("delimiter")
    if delimiter is not None and delimiter not in DELIMITERS:
        raise IngestError(
            f"{settings}: delimiter {delimiter!r} is not supported: use one of "
            + ", ".join(repr(d) for d in DELIMITERS)
        )
    return FileSettings(name, delimiter)


def _check_encoding(path: Path) -> None:
    """Raise IngestError naming the first line that is not valid text in the file's
    encoding (UTF-8 unless its folder's _source.yml declares another): a Latin-1 export
    would otherwise load as mangled text."""
    encoding = file_settings(path).encoding
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0  # bytes before the chunk
    with _open_text_bytes(path) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            # ASCII is valid in both encodings: decode only the other chunks, and any chunk
            # that must finish a character split across chunks
            if not chunk.isascii() or decoder.getstate()[0]:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = _line_at(path, offset + exc.start)
                    raise IngestError(
                        f"{path}: line {line:,} is not {encoding} text (byte "
                        f"0x{chunk[exc.start]:02x}). Re-export the file as UTF-8, or declare "
                        f"its encoding in {SETTINGS_FILE} in its folder (e.g. 'encoding: "
                        "latin-1'), and re-run; nothing was loaded."
                    ) from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise IngestError(
                f"{path}: the file ends in the middle of a {encoding} character: it looks "
                "truncated. Re-export it and re-run; nothing was loaded."
            ) from None


def _line_at(path: Path, offset: int) -> int:
    """The line number (from 1) of the byte at ``offset`` of the file's content."""
    lines = 1
    with _open_text_bytes(path) as f:
        while offset > 0:
            chunk = f.read(min(offset, 1 << 20))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            offset -= len(chunk)
    return lines


def sha256_of(path: Path) -> str:
    """Content hash of a landing file (as stored), used to skip files already loaded."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hash_files(paths: list[Path]) -> dict[str, str]:
    """sha256_of each file, one thread per core: hashlib and file reads release the GIL."""
    if len(paths) < 2:
        return {p.name: sha256_of(p) for p in paths}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(paths), os.cpu_count() or 1)) as pool:
        return dict(zip([p.name for p in paths], pool.map(sha256_of, paths), strict=True))


def ignored_because(source: Source, path: Path) -> str | None:
    """Why a file in a source's folder is not loaded, or None when it is. Extensions match
    in any case; CSV and JSON may be gzip-compressed (a lower-case .gz ending)."""
    name = path.name.lower()
    allowed = EXTENSIONS[source.format]
    if not path.is_file():
        return "not a file"
    if path.name == SETTINGS_FILE:
        return "the source's settings (encoding, delimiter)"
    if name.endswith(jdbc.SUFFIX) or name.endswith(allowed):
        return None
    if source.format != "parquet" and name.endswith(tuple(f"{e}.gz" for e in allowed)):
        return None if path.name.endswith(".gz") else "write the .gz ending in lower case"
    compressed = " (or with .gz)" if source.format != "parquet" else ""
    return f"not a {source.format} file: expected {', '.join(allowed)}{compressed} or .jdbc"


def landing_files(source: Source, landing: Path) -> list[Path]:
    """Files of one source in the landing zone, sorted by name."""
    folder = landing / source.name
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if ignored_because(source, p) is None)


def report_ignored(source: Source, landing: Path) -> None:
    """Warn about every file in a source's folder that will not load, and why."""
    folder = landing / source.name
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        why = ignored_because(source, path)
        if why and path.name != SETTINGS_FILE:
            log.warning("%s: ignored, %s", path, why)


DELIMITERS = (",", ";", "\t", "|")


def _header_line(path: Path) -> str:
    encoding = file_settings(path).encoding
    with io.TextIOWrapper(_open_text_bytes(path), encoding=encoding, errors="replace") as f:
        return f.readline().strip("\r\n").lstrip("\ufeff")


def csv_delimiter(path: Path) -> str:
    """The file's delimiter: as declared in its folder's _source.yml, else detected from
    its header: whichever of , ; tab | splits it into the most columns (a comma when the
    header has one column). Spreadsheet exports in many locales use ';'."""
    declared = file_settings(path).delimiter
    if declared:
        return declared
    line = _header_line(path)
    return max(DELIMITERS, key=lambda d: (line.count(d), d == ","))


def read_csv_header(path: Path) -> list[str]:
    """The header line of a CSV file, split on its delimiter; an empty file has no header."""
    line = _header_line(path).strip()
    if not line:
        return []
    return [h.strip().strip('"').lower() for h in line.split(csv_delimiter(path))]


def check_columns(source: Source, path: Path, found: list[str]) -> None:
    """Raise IngestError naming the file when columns are missing or repeated."""
    repeated = sorted({c for c in found if c and found.count(c) > 1})
    if repeated:
        raise IngestError(
            f"{path}: column(s) {', '.join(repeated)} appear more than once in the header, so "
            "it is unclear which to load. Remove the duplicate column(s) from the export and "
            "re-run `propensity ingest`; nothing was loaded."
        )
    missing = [c.name for c in source.columns if c.name not in found]
    if missing:
        expected = ", ".join(c.name for c in source.columns)
        shown = ", ".join(found) if found else "(empty)"
        if len(shown) > 300:
            shown = shown[:300] + "…"
        raise IngestError(
            f"{path}: missing column(s) {', '.join(missing)}. Found the header: {shown}. "
            f"Expected the {source.name} columns: {expected}. Fix the export (or rename the "
            f"columns) and re-run `propensity ingest`; nothing from this file was loaded."
        )
    extra = [c for c in found if c and c not in {col.name for col in source.columns}]
    if extra:
        log.warning("%s: ignoring unknown column(s) %s", path.name, ", ".join(extra))


def ensure_tables(spark, sources: dict[str, Source] = SOURCES, schema: str = RAW_SCHEMA) -> None:
    """Create the raw, quarantine and audit tables when missing (empty sources included)."""
    if not spark.catalog.databaseExists(schema):
        spark.sql(f"create database {schema}")
    for source in sources.values():
        cols = ", ".join(f"`{c.name}` {c.type}" for c in source.columns)
        spark.sql(
            f"create table if not exists {source.table(schema)} ({cols}, _load_id string, "
            f"_loaded_at timestamp, {FILE_COLUMN} string) using parquet "
            f"partitioned by ({FILE_COLUMN})"
        )
    spark.sql(
        f"create table if not exists {schema}.{QUARANTINE} (record string, reason string, "
        f"_load_id string, _loaded_at timestamp, issue_level string, source string, "
        f"{FILE_COLUMN} string) using parquet partitioned by (source, {FILE_COLUMN})"
    )
    # quarantines created before field-level issues existed: add the column (null = record)
    if "issue_level" not in spark.table(f"{schema}.{QUARANTINE}").columns:
        spark.sql(f"alter table {schema}.{QUARANTINE} add columns (issue_level string)")
    spark.sql(
        f"create table if not exists {schema}.{AUDIT} (load_id string, source string, "
        f"file_name string, file_path string, file_sha256 string, rows_read bigint, "
        f"rows_loaded bigint, rows_rejected bigint, loaded_at timestamp, seconds double) "
        f"using parquet"
    )


PRUNED = "pruned"  # file_sha256 of an audit row recording that a file's rows were removed


@dataclass(frozen=True)
class LoadPlan:
    """What one ingest of a source will do with the files in its landing folder."""

    hashes: dict[str, str]  # every file present, by name
    todo: list[Path]  # new files and files whose content changed
    copies: dict[str, str]  # file -> the loaded file with the same content (skipped)
    missing: dict[str, int]  # loaded file no longer in the folder -> its rows still loaded
    # incremental database sources: pointer file -> the watermark its new rows must exceed
    since: dict[str, str | None] = field(default_factory=dict)


def _loaded_files(spark, source: Source, schema: str) -> dict[str, tuple[str, int]]:
    """Latest audit entry per file name: (content hash, rows loaded); pruned files left out."""
    from pyspark.sql import functions as F

    rows = (
        spark.table(f"{schema}.{AUDIT}")
        .where(F.col("source") == F.lit(source.name))
        .select("file_name", "file_sha256", "rows_loaded", "loaded_at", "load_id")
        .collect()
    )
    latest: dict[str, tuple[str, int]] = {}
    for row in sorted(rows, key=lambda r: (r.loaded_at, r.load_id)):
        latest[row.file_name] = (row.file_sha256, row.rows_loaded)
    return {name: entry for name, entry in latest.items() if entry[0] != PRUNED}


def _jdbc_spec(path: Path) -> jdbc.JdbcSpec:
    try:
        return jdbc.JdbcSpec.read(path)
    except jdbc.JdbcSpecError as exc:
        raise IngestError(f"{path}: {exc}. Fix the pointer file and re-run.") from None


def _last_watermark(spark, source: Source, schema: str, pointer: str, column: str) -> str | None:
    """The highest watermark already loaded from one pointer file, as text (None: never)."""
    from pyspark.sql import functions as F

    rows = spark.table(source.table(schema)).where(F.col(FILE_COLUMN) == F.lit(pointer))
    value = rows.agg(F.max(column).cast("string")).first()[0]
    return None if value is None else str(value)


def _table_fingerprint(
    spark, source: Source, path: Path, since: str | None = None
) -> tuple[str, int]:
    """Check a database source's pointer file and table; return the fingerprint of its rows
    (above ``since`` when incremental) and how many there are."""
    spec = _jdbc_spec(path)
    try:
        columns = jdbc.table_columns(spark, spec)
    except jdbc.JdbcSpecError as exc:
        raise IngestError(f"{path}: {exc}. Fix it and re-run.") from None
    except Exception as exc:  # the driver's own error: unreachable host, no table, no driver
        first_line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else repr(exc)
        raise IngestError(
            f"{path}: cannot read table {spec.table} from {spec.url}: {first_line}. Check the "
            "database is reachable, the table exists and the JDBC driver jar is installed "
            "(PROPENSITY_JDBC_JARS); nothing was loaded."
        ) from None
    check_columns(source, path, [c.lower() for c in columns])
    names = [c.name for c in source.columns]
    if spec.watermark and spec.watermark.lower() not in names:
        raise IngestError(
            f"{path}: watermark {spec.watermark} is not a {source.name} column; use one of "
            f"{', '.join(c.name for c in source.columns if c.type in ('date', 'timestamp'))}"
        )
    return jdbc.fingerprint(spark, spec, names, path.read_bytes(), since)


def plan_load(spark, source: Source, files: list[Path], schema: str) -> LoadPlan:
    """Compare the folder with the audit: new or changed files load; a renamed copy of a
    loaded file is skipped (it would load its rows twice); files gone from the folder are
    reported, their rows kept unless pruned."""
    loaded = _loaded_files(spark, source, schema)
    since, nothing_new = {}, set()
    hashes = _hash_files([p for p in files if p.suffix != jdbc.SUFFIX])
    for p in files:
        if p.suffix != jdbc.SUFFIX:
            continue
        watermark = _jdbc_spec(p).watermark
        if watermark and p.name in loaded:  # incremental: only rows above the last loaded
            since[p.name] = _last_watermark(spark, source, schema, p.name, watermark.lower())
        hashes[p.name], rows = _table_fingerprint(spark, source, p, since.get(p.name))
        if p.name in since and rows == 0:
            nothing_new.add(p.name)
    loaded_by_hash = {sha: name for name, (sha, _) in loaded.items()}
    todo: list[Path] = []
    copies: dict[str, str] = {}
    batch: dict[str, str] = {}
    for path in files:
        sha = hashes[path.name]
        if path.name in nothing_new or (path.name in loaded and loaded[path.name][0] == sha):
            continue  # already loaded, unchanged (or no new rows above the watermark)
        twin = loaded_by_hash.get(sha) or batch.get(sha)
        if twin and twin != path.name:
            copies[path.name] = twin
            continue
        batch[sha] = path.name
        todo.append(path)
    missing = {name: rows for name, (_, rows) in loaded.items() if name not in hashes}
    return LoadPlan(hashes, todo, copies, missing, since)


def literal_path(path: Path) -> str:
    """A path Spark reads as exactly this file: glob characters (* ? [ ] { } \\) escaped, so
    a file named ``c*.csv`` is never read as a pattern matching its siblings."""
    return re.sub(r"([\\*?\[\]{}])", r"\\\1", str(path))


def _real_file_names(encoded: set[str], expected: set[str]) -> dict[str, str]:
    """Map the file names Spark reports (URL-encoded: a space is %20) back to the real names."""
    mapping = {name: unquote(name) for name in encoded}
    strays = sorted(real for real in mapping.values() if real not in expected)
    if strays:
        raise IngestError(
            f"Spark read file(s) {', '.join(strays)} that were not asked for; nothing was "
            "loaded. Please report this with the landing folder's file names."
        )
    return mapping


def _union(frames: list):
    """Stack DataFrames with the same columns, matched by name."""
    return functools.reduce(lambda left, right: left.unionByName(right), frames)


def _read_as_text(spark, source: Source, paths: list[Path], since: dict | None = None):
    """Read files and database tables with every column as string, plus
    ``_corrupt_record`` and the file (or pointer file) name."""
    from pyspark.sql import functions as F

    names = [c.name for c in source.columns]
    frames = []
    files = [p for p in paths if p.suffix != jdbc.SUFFIX]
    if files:
        frames.append(_read_files_as_text(spark, source, files))
    for pointer in (p for p in paths if p.suffix == jdbc.SUFFIX):
        table = jdbc.read_as_text(
            spark, _jdbc_spec(pointer), names, (since or {}).get(pointer.name)
        )
        frames.append(
            table.select(
                *names,
                F.lit(None).cast("string").alias("_corrupt_record"),
                # quoted like Spark's own file names, so one decoding serves both
                F.lit(quote(pointer.name, safe="")).alias(FILE_COLUMN),
            )
        )
    return _union(frames)


def _read_files_as_text(spark, source: Source, paths: list[Path]):
    """Read files with every column as string plus ``_corrupt_record`` and the file name."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    names = [c.name for c in source.columns]
    if source.format == "parquet":
        # pandas writes nanosecond timestamps, which Spark reads only as longs
        spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
        types = {c.name: c.type for c in source.columns}
        frames = []
        for path in paths:
            df = spark.read.parquet(literal_path(path))
            lower = {c.lower(): c for c in df.columns}
            check_columns(source, path, list(lower))

            def as_text(name: str, df=df, lower=lower):
                col = F.col(f"`{lower[name]}`")
                if (
                    types[name] == "timestamp"
                    and df.schema[lower[name]].dataType.typeName() == "long"
                ):
                    col = F.timestamp_micros(F.floor(col / 1000))
                return col.cast("string").alias(name)

            frames.append(
                df.select(
                    *[as_text(n) for n in names],
                    F.lit(None).cast("string").alias("_corrupt_record"),
                    F.col("_metadata.file_name").alias(FILE_COLUMN),
                )
            )
        return _union(frames)

    if source.format == "json":
        schema = StructType(
            [StructField(n, StringType()) for n in names]
            + [StructField("_corrupt_record", StringType())]
        )
        reader = spark.read.schema(schema).option("mode", "PERMISSIVE")
        settings = file_settings(paths[0])  # one folder, one settings file
        if settings.encoding != "utf-8":
            # Spark reads JSON lines in another charset only with an explicit line separator
            reader = reader.option("encoding", settings.spark_encoding).option("lineSep", "\n")
        df = reader.json([literal_path(p) for p in paths])
        return df.select(*names, "_corrupt_record", F.col("_metadata.file_name").alias(FILE_COLUMN))

    # CSV: group files by header and delimiter so that columns map by name, in any order
    by_header: dict[tuple[str, tuple[str, ...]], list[Path]] = {}
    for path in paths:  # headers were checked by preflight
        key = (csv_delimiter(path), tuple(read_csv_header(path)))
        by_header.setdefault(key, []).append(path)
    frames = []
    for (delimiter, header), group in by_header.items():
        schema = StructType(
            [StructField(h or f"_blank_{i}", StringType()) for i, h in enumerate(header)]
            + [StructField("_corrupt_record", StringType())]
        )
        df = (
            spark.read.schema(schema)
            .option("header", True)
            .option("sep", delimiter)
            .option("encoding", file_settings(group[0]).spark_encoding)
            .option("mode", "PERMISSIVE")
            # RFC 4180: quoted fields may hold newlines, and "" inside quotes is one quote
            .option("multiLine", True)
            .option("escape", '"')
            .option("enforceSchema", True)
            .csv([literal_path(p) for p in group])
        )
        frames.append(
            df.select(*names, "_corrupt_record", F.col("_metadata.file_name").alias(FILE_COLUMN))
        )
    return _union(frames)


NEGATIVE_AMOUNTS = ("refund", "reject")


def _typed_with_reason(source: Source, text_df, negative_amounts: str = "refund"):
    """Cast each column; attach the first reason a record cannot be loaded (else null) and
    the field-level issues of a loadable record (optional fields that became null).

    Two projections: each trimmed value and its cast are computed once, then the checks read
    them by name. Written as one, every check re-parsed its column (a timestamp cast three
    more times), which doubled the cost of reading the files."""
    from pyspark.sql import functions as F

    def value_of(name: str) -> str:
        return f"_value_{name}"

    def text_of(name: str) -> str:
        return f"_text_{name}"

    parsed = []
    for c in source.columns:
        raw = F.trim(F.col(c.name))
        value = F.when(raw != "", raw)
        if c.name in source.parsers:
            cast = F.expr(source.parsers[c.name].format(v=f"nullif(trim(`{c.name}`), '')"))
        elif c.type == "string":
            cast = value
        else:
            cast = F.expr(f"try_cast(nullif(trim(`{c.name}`), '') as {c.type})")
        parsed += [
            F.col(c.name).alias(text_of(c.name)),
            value.alias(value_of(c.name)),
            cast.alias(c.name),
        ]
    parsed_df = text_df.select(*parsed, "_corrupt_record", F.col(FILE_COLUMN))

    checks, field_issues = [], []
    checks.append(
        F.when(
            F.col("_corrupt_record").isNotNull(),
            F.lit(
                "malformed record: wrong number of fields or not parseable as "
                f"{source.format.upper()}"
            ),
        )
    )
    for c in source.columns:
        value, cast = F.col(value_of(c.name)), F.col(c.name)
        if c.required:
            checks.append(F.when(value.isNull(), F.lit(f"missing required field '{c.name}'")))
        if c.lenient:
            field_issues.append(
                F.when(
                    value.isNotNull() & cast.isNull(),
                    F.format_string(
                        f"field '{c.name}': '%s' is not a valid {c.type}; loaded as null", value
                    ),
                )
            )
        elif c.type != "string":
            checks.append(
                F.when(
                    value.isNotNull() & cast.isNull(),
                    F.format_string(f"field '{c.name}': '%s' is not a valid {c.type}", value),
                )
            )
        if c.type in ("date", "timestamp"):
            earliest = F.lit(EARLIEST_PLAUSIBLE_DATE).cast(c.type)
            latest = F.date_add(F.current_date(), 1).cast(c.type)
            checks.append(
                F.when(
                    (cast < earliest) | (cast > latest),
                    F.format_string(
                        f"field '{c.name}': '%s' is outside the plausible dates "
                        f"{EARLIEST_PLAUSIBLE_DATE} to tomorrow; fix the export",
                        value,
                    ),
                )
            )
        if c.signed_amount and negative_amounts == "reject":
            checks.append(
                F.when(
                    cast < 0,
                    F.format_string(
                        f"field '{c.name}': '%s' is negative, and negative amounts are set to "
                        "be errors (--negative-amounts reject; use refund to load them)",
                        value,
                    ),
                )
            )
        if c.type in ("double", "float"):
            checks.append(
                F.when(
                    F.isnan(cast) | (F.abs(cast) > F.lit(LARGEST_PLAUSIBLE_NUMBER)),
                    F.format_string(
                        f"field '{c.name}': '%s' is not a finite number within "
                        f"±{LARGEST_PLAUSIBLE_NUMBER:.0e}",
                        value,
                    ),
                )
            )
    issues = F.concat_ws("; ", *field_issues) if field_issues else F.lit("")
    reason = F.coalesce(*checks)
    field_issue = F.when(issues != "", issues)
    # the record's text goes to the quarantine only: build it for flagged records alone
    record = F.when(
        reason.isNotNull() | field_issue.isNotNull(),
        F.coalesce(
            F.col("_corrupt_record"),
            F.to_json(F.struct(*[F.col(text_of(c.name)).alias(c.name) for c in source.columns])),
        ),
    )
    return parsed_df.select(
        *[c.name for c in source.columns],
        reason.alias("_reason"),
        field_issue.alias("_field_issues"),
        record.alias("_record"),
        F.col(FILE_COLUMN),
    )


_DATA_ENDINGS = (".csv", ".json", ".jsonl", ".parquet", ".gz", jdbc.SUFFIX, ".txt", ".tsv")


def expected_layout(landing: Path, sources: dict[str, Source] = SOURCES) -> str:
    """The landing folder layout ingestion reads, one line per source."""
    lines = [f"expected layout of {landing}:"]
    for source in sources.values():
        need = "required" if source.required else "optional"
        ext = "/".join(EXTENSIONS[source.format])
        lines.append(f"  {source.name}/*{ext}  ({need}; or *.jdbc pointing at a table)")
    return "\n".join(lines)


def check_landing_layout(landing: Path, sources: dict[str, Source] = SOURCES) -> None:
    """Stop when data files sit where no source reads them: directly in the landing folder,
    or in a folder that is not a source (say ``Customers/`` or ``clients/``). Nothing would
    load them, so carrying on would silently leave the user's data out."""
    if not landing.is_dir():
        return
    misplaced = []
    for entry in sorted(landing.iterdir()):
        if entry.name.startswith((".", "_")):
            continue  # hidden files and generated folders such as _truth/
        if entry.is_file() and entry.name.lower().endswith(_DATA_ENDINGS):
            stem = entry.name.split(".")[0].lower()
            hint = f" (move it to {stem}/)" if stem in sources else ""
            misplaced.append(f"  {entry.name}: a file directly in the landing folder{hint}")
        elif entry.is_dir() and entry.name not in sources:
            files = [f for f in entry.rglob("*") if f.is_file()]
            if files:
                near = [s for s in sources if s == entry.name.lower()]
                hint = f" (rename it to {near[0]}/)" if near else ""
                misplaced.append(
                    f"  {entry.name}/: not a source folder, {len(files)} file(s) ignored{hint}"
                )
    if misplaced:
        raise IngestError(
            f"files in {landing} are where no source reads them:\n"
            + "\n".join(misplaced)
            + "\n"
            + expected_layout(landing, sources)
            + "\nMove the files into their source folders and run again. Nothing was loaded."
        )


def _missing_required(source: Source, landing: Path) -> IngestError:
    return IngestError(
        f"no {source.name} files in {landing / source.name}. The pipeline needs at least "
        f"customers and transactions: put {source.format.upper()} exports there (columns: "
        f"{', '.join(c.name for c in source.columns)}) or run `propensity generate` for "
        "sample data. Nothing was loaded."
    )


def _report_drift(spark, source: Source, schema: str, plan: LoadPlan, prune: bool) -> None:
    """Warn about renamed copies and vanished files; prune the latter's rows when asked."""
    for copy, original in sorted(plan.copies.items()):
        log.warning(
            "%s: same content as %s, already loaded: skipped (its rows would load twice). "
            "Delete the copy to silence this.",
            copy,
            original,
        )
    if not plan.missing:
        return
    if not prune:
        for name, rows in sorted(plan.missing.items()):
            log.warning(
                "%s: loaded before but no longer in the landing folder; its %s rows stay in "
                "%s. Run `propensity ingest --prune-missing` to remove them.",
                name,
                f"{rows:,}",
                source.table(schema),
            )
        return
    from pyspark.sql import functions as F

    for name, rows in sorted(plan.missing.items()):
        for table, partition in (
            (source.table(schema), f"{FILE_COLUMN} = :file_name"),
            (f"{schema}.{QUARANTINE}", f"source = :source, {FILE_COLUMN} = :file_name"),
        ):
            spark.sql(
                f"alter table {table} drop if exists partition ({partition})",
                args={"file_name": name, "source": source.name},
            )
        log.warning("%s: no longer in the landing folder: removed its %s rows", name, f"{rows:,}")
    pruned = spark.createDataFrame(
        [(uuid.uuid4().hex[:12], source.name, n, "", PRUNED) for n in sorted(plan.missing)],
        "load_id string, source string, file_name string, file_path string, file_sha256 string",
    ).select(
        "*",
        *[F.lit(0).cast("bigint").alias(c) for c in ("rows_read", "rows_loaded", "rows_rejected")],
        F.current_timestamp().alias("loaded_at"),
        F.lit(0.0).alias("seconds"),
    )
    pruned.write.insertInto(f"{schema}.{AUDIT}")


def preflight(source: Source, paths: list[Path]) -> None:
    """Check files before anything is loaded (they were hashed when planned).

    Whole-file problems (no header, missing or repeated columns, text that is not UTF-8, a
    Parquet file that cannot be read) raise IngestError naming the file and what to do.
    """
    for path in paths:
        if path.suffix == jdbc.SUFFIX:
            continue  # checked against its table when planned (_table_fingerprint)
        if ":" in path.name:  # Hadoop reads "a:b.csv" as a URI with scheme "a"
            raise IngestError(
                f"{path}: Spark cannot read a file whose name holds ':'. Rename it (for "
                "example, replace ':' with '-') and re-run; nothing was loaded."
            )
        if source.format in ("csv", "json"):
            _check_encoding(path)
        if source.format == "csv":
            header = read_csv_header(path)
            if not header:
                raise IngestError(
                    f"{path}: the file is empty or has no header line. Expected a CSV header "
                    f"with {', '.join(c.name for c in source.columns)}. Remove the file or "
                    "replace it with a complete export; nothing was loaded."
                )
            check_columns(source, path, header)
        elif source.format == "parquet":
            import pyarrow.parquet as pq

            try:
                names = pq.read_schema(path).names
            except Exception as exc:  # pyarrow raises several types for a damaged file
                raise IngestError(
                    f"{path}: not a readable Parquet file ({exc}). Re-export or remove it and "
                    "re-run `propensity ingest`; nothing was loaded."
                ) from None
            check_columns(source, path, [n.lower() for n in names])


def _staging_tables(source: Source, schema: str) -> tuple[str, str]:
    """Every row of the new files, checked, partitioned by (_rejected, file) so that a file's
    loadable rows are a folder raw.* can take as it is; and, for an incremental database
    source only, its quarantined rows merged with the earlier ones."""
    prefix = f"{schema}._staging_{source.name}"
    return f"{prefix}_checked", f"{prefix}_quarantine"


REJECTED_COLUMN = "_rejected"


@dataclass
class _Staged:
    """One source's new rows, checked and written to a staging table, not yet in raw.*."""

    source: Source
    plan: LoadPlan
    counts: dict[tuple[str, bool], int]
    load_id: str
    seconds: float
    results: list[FileResult]
    checked_table: str = ""
    real: dict[str, str] = field(default_factory=dict)  # Spark's file name -> the real one
    good: Any = None  # DataFrames over the staging tables, in raw.* and quarantine layout
    bad: Any = None


def _check_rejected_share(source, checked, counts, real, paths, max_share) -> None:
    """Fail loudly when a file loses more than ``max_share`` of its records to quarantine."""
    from pyspark.sql import functions as F

    for encoded, name in sorted(real.items(), key=lambda item: item[1]):
        loaded, rejected = counts.get((name, False), 0), counts.get((name, True), 0)
        total = loaded + rejected
        if not total or rejected / total <= max_share:
            continue
        top = (
            checked.where((F.col(FILE_COLUMN) == F.lit(encoded)) & F.col(REJECTED_COLUMN))
            .groupBy("_reason")
            .agg(F.count(F.lit(1)).alias("n"), F.min("_record").alias("sample"))
            .orderBy(F.col("n").desc(), "_reason")
            .limit(3)
            .collect()
        )
        reasons = "; ".join(f"{r.n:,} x {r._reason} (e.g. {r.sample[:100]})" for r in top)
        expected = ", ".join(c.name for c in source.columns)
        raise IngestError(
            f"{paths[name]}: {rejected:,} of {total:,} records ({rejected / total:.0%}) cannot "
            f"be loaded, more than the {max_share:.0%} allowed. Top reasons: {reasons}. "
            f"Expected {source.format.upper()} with columns {expected}. Fix the export and "
            "re-run (or allow more with --max-rejected-share); nothing was loaded."
        )


def _stage(
    spark,
    source: Source,
    landing: Path,
    schema: str,
    plan: LoadPlan,
    max_share: float,
    negative_amounts: str = "refund",
) -> tuple[_Staged | None, list[FileResult]]:
    """Phase 1: read, type and check the new files; write their rows to a staging table only.

    The staging table holds raw.*'s columns plus the checks' (``_reason``, ``_field_issues``,
    ``_record``), partitioned by ``_rejected`` and file: a file's loadable rows are one
    folder in raw.*'s layout, which the commit moves into raw.* instead of copying it."""
    from pyspark.sql import functions as F

    files = landing_files(source, landing)
    if not files:
        if source.required:
            raise _missing_required(source, landing)
        log.info("%-22s no files: optional source, raw table left as it is", source.name)
        return None, []
    todo = plan.todo
    skipped = [FileResult(source.name, p.name, "skipped") for p in files if p not in todo]
    if not todo:
        log.info("%-22s %d file(s) already loaded, unchanged: skipped", source.name, len(files))
        return None, skipped

    started = time.monotonic()
    load_id = uuid.uuid4().hex[:12]
    names = {p.name for p in todo}
    checked_table, bad_table = _staging_tables(source, schema)
    data = [c.name for c in source.columns]
    checks = ["_reason", "_field_issues", "_record"]
    new_rows = _typed_with_reason(
        source, _read_as_text(spark, source, todo, plan.since), negative_amounts
    ).select(
        *data,
        F.lit(load_id).alias("_load_id"),
        F.current_timestamp().alias("_loaded_at"),
        *checks,
        F.col("_reason").isNotNull().alias(REJECTED_COLUMN),
        FILE_COLUMN,
    )
    # an incremental database source keeps its earlier rows: its partition is rewritten
    # with them plus the new ones (staging's dedupe keeps each key's newest version), so
    # they are staged with the new ones, under the name its new rows have
    incremental = [name for name, value in plan.since.items() if value is not None]
    if incremental:
        earlier = spark.table(source.table(schema)).where(F.col(FILE_COLUMN).isin(incremental))
        new_rows = new_rows.unionByName(
            earlier.select(
                *data,
                "_load_id",
                "_loaded_at",
                *[F.lit(None).cast("string").alias(c) for c in checks],
                F.lit(False).alias(REJECTED_COLUMN),
                # quoted like Spark's own file names, so one decoding serves both
                F.create_map(*[F.lit(x) for n in incremental for x in (n, quote(n, safe=""))])[
                    F.col(FILE_COLUMN)
                ].alias(FILE_COLUMN),
            )
        )
    # one pass over the files: every checked row is written once, and the counts, the
    # rejected-share check, the quarantine and the commit read that table (caching the
    # typed source and reading it three times took 2.5x as long)
    (
        new_rows.write.mode("overwrite")
        .format("parquet")
        .partitionBy(REJECTED_COLUMN, FILE_COLUMN)
        .saveAsTable(checked_table)
    )
    checked = spark.table(checked_table)
    encoded_counts = {
        (r[FILE_COLUMN], r[REJECTED_COLUMN]): r["count"]
        for r in checked.where(F.col("_load_id") == F.lit(load_id))
        .groupBy(FILE_COLUMN, REJECTED_COLUMN)
        .count()
        .collect()
    }
    real = _real_file_names({name for name, _ in encoded_counts}, names)
    counts = {(real[name], rejected): n for (name, rejected), n in encoded_counts.items()}
    paths = {p.name: p for p in todo}
    _check_rejected_share(source, checked, counts, real, paths, max_share)
    # file names are data: they reach Spark as literal values, never as SQL text
    pairs = [F.lit(part) for item in sorted(real.items()) for part in item]
    file_name = F.create_map(*pairs)[F.col(FILE_COLUMN)] if pairs else F.col(FILE_COLUMN)
    good = checked.where(~F.col(REJECTED_COLUMN)).select(
        *data, "_load_id", "_loaded_at", file_name.alias(FILE_COLUMN)
    )
    rejected = F.col(REJECTED_COLUMN)
    # rejected records, and loaded records whose optional fields became null
    bad = checked.where(rejected | F.col("_field_issues").isNotNull()).select(
        F.col("_record").alias("record"),
        F.coalesce("_reason", "_field_issues").alias("reason"),
        "_load_id",
        "_loaded_at",
        F.when(rejected, F.lit("record")).otherwise(F.lit("field")).alias("issue_level"),
        F.lit(source.name).alias("source"),
        file_name.alias(FILE_COLUMN),
    )
    if incremental:  # the quarantine's earlier rows too (a table is not overwritten as read)
        earlier = F.col(FILE_COLUMN).isin(incremental)
        bad.unionByName(
            spark.table(f"{schema}.{QUARANTINE}").where(
                (F.col("source") == F.lit(source.name)) & earlier
            )
        ).write.mode("overwrite").format("parquet").saveAsTable(bad_table)
        bad = spark.table(bad_table)
    seconds = round(time.monotonic() - started, 3)
    staged = _Staged(
        source, plan, counts, load_id, seconds, skipped, checked_table, real, good, bad
    )
    return staged, skipped


def _drop_staging(spark, source: Source, schema: str) -> None:
    for table in _staging_tables(source, schema):
        spark.sql(f"drop table if exists {table}")


def _catalog_and_identifier(spark, table: str):
    """The session catalog (JVM) and a ``schema.name`` table's identifier in it (a classic
    session only)."""
    jvm = spark._jvm
    schema, name = table.split(".")
    ident = jvm.org.apache.spark.sql.catalyst.TableIdentifier(name, jvm.scala.Some(schema))
    return spark._jsparkSession.sessionState().catalog(), ident


def _table_partitions(spark, table: str) -> dict[tuple[str, ...], Any]:
    """A table's partitions from the session catalog: values (in the table's partition
    column order) -> location as a Hadoop Path. One metastore call for all of them."""
    jvm = spark._jvm
    catalog, ident = _catalog_and_identifier(spark, table)
    columns = list(
        jvm.scala.jdk.javaapi.CollectionConverters.asJava(
            catalog.getTableMetadata(ident).partitionColumnNames()
        )
    )
    partitions = jvm.scala.jdk.javaapi.CollectionConverters.asJava(
        catalog.listPartitions(ident, jvm.scala.Option.empty())
    )
    found = {}
    for partition in partitions:
        spec = partition.spec()
        key = tuple(str(spec.apply(c)) for c in columns)
        found[key] = jvm.org.apache.hadoop.fs.Path(partition.location())
    return found


def _can_move(spark) -> bool:
    """Whether the commit may move staged folders into raw.* (a classic session, whose JVM
    reaches the warehouse's file system) rather than copy the rows (Spark Connect)."""
    try:
        return spark._jvm is not None and spark._jsparkSession is not None
    except Exception:  # a Spark Connect session has neither
        return False


def _move_partitions(spark, staged: _Staged, schema: str) -> None:
    """Make each staged file's loadable-rows folder the file's partition of raw.*: the old
    partition's folder moves into the staging table's (dropped with it), the staged one
    takes its place. Partition values are bound as parameters, folders come from the
    catalog: no file name is ever written into SQL text or a path pattern."""
    table = staged.source.table(schema)
    staged_parts = _table_partitions(spark, staged.checked_table)
    # every file with loadable rows (an incremental database source's earlier ones count)
    sources = {
        real: staged_parts[("false", enc)]
        for enc, real in staged.real.items()
        if ("false", enc) in staged_parts
    }
    names = sorted(sources)
    if not names:
        return
    args = {f"f{i}": name for i, name in enumerate(names)}
    spark.sql(
        f"alter table {table} add if not exists "
        + " ".join(f"partition ({FILE_COLUMN} = :{key})" for key in args),
        args=args,
    )
    targets = _table_partitions(spark, table)
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    replaced = jvm.org.apache.hadoop.fs.Path(
        _table_location(spark, staged.checked_table), "_replaced"
    )
    fs = replaced.getFileSystem(conf)
    fs.mkdirs(replaced)
    for i, name in enumerate(names):
        source, target = sources[name], targets[(name,)]
        if fs.exists(target) and not fs.rename(
            target, jvm.org.apache.hadoop.fs.Path(replaced, str(i))
        ):
            raise IngestError(
                f"cannot move {target} aside to load {name}; nothing of it changed. Check "
                "that the warehouse folder is writable, then re-run `propensity ingest`."
            )
        if not fs.rename(source, target):
            raise IngestError(
                f"cannot move the checked rows of {name} from {source} to {target}; its earlier "
                "rows are in the staging table's _replaced folder. Check that the warehouse folder "
                "is writable, then re-run `propensity ingest`: the file loads again."
            )
    spark.catalog.refreshTable(table)


def _table_location(spark, table: str):
    """A table's folder, as a Hadoop Path (a classic session only)."""
    catalog, ident = _catalog_and_identifier(spark, table)
    return spark._jvm.org.apache.hadoop.fs.Path(catalog.getTableMetadata(ident).location())


def _same_file_system(spark, staged: _Staged, schema: str) -> bool:
    """The staging table and raw.* share a file system (a rename, not a copy, moves rows)."""
    conf = spark._jsc.hadoopConfiguration()
    systems = {
        str(_table_location(spark, table).getFileSystem(conf).getUri())
        for table in (staged.checked_table, staged.source.table(schema))
    }
    return len(systems) == 1


def _commit(spark, staged: _Staged, schema: str) -> list[FileResult]:
    """Phase 2: move one source's staged rows into raw.* and the quarantine; audit them."""
    from pyspark.sql import functions as F

    source, counts, todo = staged.source, staged.counts, staged.plan.todo

    def existing(df, names: set[str]) -> set[str]:
        """Which of ``names`` have a partition in ``df`` (asked only when there are any)."""
        if not names:
            return set()
        found = df.where(F.col(FILE_COLUMN).isin(*sorted(names))).select(FILE_COLUMN)
        return {r[0] for r in found.distinct().collect()}

    # files whose every row was rejected leave no partition to overwrite: drop theirs,
    # the name bound as a parameter (a quote in a name cannot reach another partition);
    # only partitions that exist (one metastore call each, 36 files took 10 s)
    todo_names = {p.name for p in todo}
    in_raw = existing(
        spark.table(source.table(schema)), {n for n in todo_names if not counts.get((n, False))}
    )
    in_quarantine = existing(
        spark.table(f"{schema}.{QUARANTINE}").where(F.col("source") == source.name),
        {n for n in todo_names if not counts.get((n, True))},
    )
    for name in sorted(todo_names):
        if not counts.get((name, False)) and name in in_raw:
            spark.sql(
                f"alter table {source.table(schema)} drop if exists partition "
                f"({FILE_COLUMN} = :file_name)",
                args={"file_name": name},
            )
        if not counts.get((name, True)) and name in in_quarantine:
            spark.sql(
                f"alter table {schema}.{QUARANTINE} drop if exists partition "
                f"(source = :source, {FILE_COLUMN} = :file_name)",
                args={"source": source.name, "file_name": name},
            )
    # the quarantine first: it reads the loadable rows' field-level issues from staging
    staged.bad.write.insertInto(f"{schema}.{QUARANTINE}", overwrite=True)
    if _can_move(spark) and _same_file_system(spark, staged, schema):
        _move_partitions(spark, staged, schema)
    else:  # Spark Connect, or raw.* on another file system: copy the rows
        staged.good.write.insertInto(source.table(schema), overwrite=True)

    results, audit_rows = list(staged.results), []
    for path in todo:
        loaded = counts.get((path.name, False), 0)
        rejected = counts.get((path.name, True), 0)
        results.append(
            FileResult(source.name, path.name, "loaded", loaded + rejected, loaded, rejected)
        )
        audit_rows.append(
            (
                staged.load_id,
                source.name,
                path.name,
                str(path),
                staged.plan.hashes[path.name],
                loaded + rejected,
                loaded,
                rejected,
                staged.seconds,
            )
        )
    audit = spark.createDataFrame(
        audit_rows,
        "load_id string, source string, file_name string, file_path string, file_sha256 string, "
        "rows_read bigint, rows_loaded bigint, rows_rejected bigint, seconds double",
    ).select(
        "load_id",
        "source",
        "file_name",
        "file_path",
        "file_sha256",
        "rows_read",
        "rows_loaded",
        "rows_rejected",
        F.current_timestamp().alias("loaded_at"),
        "seconds",
    )
    audit.write.insertInto(f"{schema}.{AUDIT}")
    _drop_staging(spark, source, schema)
    loaded = sum(r.rows_loaded for r in results)
    rejected = sum(r.rows_rejected for r in results)
    log.info(
        "%-22s %d file(s) loaded: %s rows loaded, %s quarantined (%.1fs)",
        source.name,
        len(todo),
        f"{loaded:,}",
        f"{rejected:,}",
        staged.seconds,
    )
    return results


def _max_rejected_share(value: float | None) -> float:
    if value is not None:
        return value
    return float(os.environ.get("PROPENSITY_MAX_REJECTED_SHARE", MAX_REJECTED_SHARE))


def _negative_amounts(value: str) -> str:
    if value not in NEGATIVE_AMOUNTS:
        raise IngestError(
            f"negative_amounts is {value!r}: use refund (negative amounts are refunds, the "
            "default) or reject (they are errors and go to the quarantine)"
        )
    return value


def ingest_source(
    spark,
    source: Source,
    landing: Path,
    schema: str = RAW_SCHEMA,
    plan: LoadPlan | None = None,
    prune_missing: bool = False,
    max_rejected_share: float | None = None,
    negative_amounts: str = "refund",
) -> list[FileResult]:
    """Load the new or changed files of one source; return one result per file.

    ``plan``: made and checked here unless given. ``prune_missing``: remove the rows of files
    no longer in the landing folder (kept, with a warning, by default). A file losing more
    than ``max_rejected_share`` of its records to quarantine stops the load."""
    files = landing_files(source, landing)
    if plan is None:
        report_ignored(source, landing)
        plan = plan_load(spark, source, files, schema)
        preflight(source, plan.todo)
    try:
        staged, results = _stage(
            spark,
            source,
            landing,
            schema,
            plan,
            _max_rejected_share(max_rejected_share),
            _negative_amounts(negative_amounts),
        )
    except Exception:
        _drop_staging(spark, source, schema)
        raise
    _report_drift(spark, source, schema, plan, prune_missing)
    return _commit(spark, staged, schema) if staged else results


def ingest_all(
    spark,
    landing: Path,
    sources: dict[str, Source] = SOURCES,
    schema: str = RAW_SCHEMA,
    prune_missing: bool = False,
    max_rejected_share: float | None = None,
    negative_amounts: str = "refund",
) -> list[FileResult]:
    """Ingest every source into ``schema``; optional sources may be missing or empty.

    Either every source loads or none changes: each source's new files are checked and
    staged first, and raw.* is written only once every source has passed.
    """
    check_landing_layout(landing, sources)
    for source in sources.values():  # fail before loading anything
        if source.required and not landing_files(source, landing):
            raise _missing_required(source, landing)
    ensure_tables(spark, sources, schema)
    log.info("ingesting landing zone %s into %s", landing, schema)
    plans: dict[str, LoadPlan] = {}
    for source in sources.values():
        report_ignored(source, landing)
        plans[source.name] = plan_load(spark, source, landing_files(source, landing), schema)
        preflight(source, plans[source.name].todo)
    share = _max_rejected_share(max_rejected_share)
    negative = _negative_amounts(negative_amounts)
    staged: list[_Staged] = []
    results: list[FileResult] = []
    try:
        for source in sources.values():
            one, skipped = _stage(
                spark, source, landing, schema, plans[source.name], share, negative
            )
            if one:
                staged.append(one)
            else:
                results.extend(skipped)
    except Exception:
        for source in sources.values():
            _drop_staging(spark, source, schema)
        raise
    for source in sources.values():
        _report_drift(spark, source, schema, plans[source.name], prune_missing)
    for one in staged:
        results.extend(_commit(spark, one, schema))
    if staged:
        report_orphans(spark, sources, schema)
    return results


# The orphan count looks every row's customer up in the customer master. Up to this many
# master rows, the master's ids are sent to every task and each row is looked up there, with
# no shuffle (README, Performance); above it, rows are counted per customer first and the
# counts are joined to the master.
ORPHAN_BROADCAST_MAX_CUSTOMERS = 5_000_000


def orphan_counts(spark, sources: dict[str, Source] = SOURCES, schema: str = RAW_SCHEMA):
    """Per source with a customer_id: rows and customers that the customer master does not
    hold, and how many of those customers were quarantined (their master record rejected)."""
    from pyspark.sql import functions as F

    master = spark.table(f"{schema}.customers")
    known = master.select(F.trim("customer_id").alias("id")).distinct()
    broadcast = master.count() <= ORPHAN_BROADCAST_MAX_CUSTOMERS
    rejected = (
        spark.table(f"{schema}.{QUARANTINE}")
        .where(
            (F.col("source") == "customers")
            & (F.coalesce("issue_level", F.lit("record")) == "record")
        )
        .select(F.trim(F.get_json_object("record", "$.customer_id")).alias("id"))
        .where(F.col("id").isNotNull())
        .distinct()
    )
    counts = {}
    for source in sources.values():
        if source.name == "customers" or "customer_id" not in {c.name for c in source.columns}:
            continue
        ids = spark.table(source.table(schema)).select(F.trim("customer_id").alias("id"))
        if broadcast:  # each row looked up in the master's ids, sent to every task
            orphans = ids.join(F.broadcast(known), "id", "left_anti").groupBy("id").count()
        else:  # rows per customer first: the join shuffles one row per customer, not every row
            orphans = ids.groupBy("id").count().join(known, "id", "left_anti")
        row = (
            orphans.join(rejected.withColumn("is_quarantined", F.lit(True)), "id", "left")
            .agg(
                F.coalesce(F.sum("count"), F.lit(0)).alias("rows"),
                F.count(F.lit(1)).alias("customers"),
                F.count("is_quarantined").alias("quarantined"),
            )
            .first()
        )
        if row["rows"]:
            counts[source.name] = (int(row["rows"]), int(row["customers"]), int(row["quarantined"]))
    return counts


def report_orphans(spark, sources: dict[str, Source] = SOURCES, schema: str = RAW_SCHEMA) -> None:
    """Warn about rows whose customer is not in the customer master: they load (a later
    customers file may bring the customer), but no customer-level table will show them."""
    started = time.monotonic()
    counts = orphan_counts(spark, sources, schema)
    log.info(
        "checked every loaded row's customer against the customer master (%.1fs)",
        time.monotonic() - started,
    )
    for name, (rows, customers, quarantined) in counts.items():
        why = (
            f"; {quarantined:,} of these customers were rejected at ingestion "
            "(`propensity quarantine --source customers`)"
            if quarantined
            else ""
        )
        log.warning(
            "%-22s %s row(s) name %s customer(s) missing from the customer master%s. They "
            "are kept, but count for nobody until a customers file brings those customers.",
            name,
            f"{rows:,}",
            f"{customers:,}",
            why,
        )
