"""`propensity`: generate, ingest, dbt build, publish and serve, on one Spark session.

Every subcommand has --help. `propensity run` is the main job: it generates sample data when
the landing zone is empty, ingests it, runs `dbt build` in-process (so dbt, the Python models
and ingestion share one Spark session) and publishes the scored marts for the API and
dashboard.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from pipeline import sample_data
from pipeline.config import PROJECT_DIR, Paths

log = logging.getLogger("propensity")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("py4j", "urllib3", "numba", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # the Spark Connect client logs every failed query with its JVM stack trace as JSON;
    # the command reports the error itself, in one line (-v shows the trace)
    if not verbose:
        logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)


class StepFailed(Exception):
    """A pipeline step failed; its own error has been logged. Carries the exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@contextmanager
def step(name: str):
    """Log the start, end (✔ or ✘) and duration of one pipeline step."""
    log.info("▶ %s", name)
    started = time.monotonic()
    try:
        yield
    except StepFailed:
        log.error("✘ %s (%.1fs)", name, time.monotonic() - started)
        raise
    log.info("✔ %s (%.1fs)", name, time.monotonic() - started)


LOCK_FILE = ".lock"


class StateBusy(RuntimeError):
    """Another propensity command holds the state folder."""


@contextmanager
def state_lock(paths: Paths, command: str):
    """Hold an exclusive lock on the state folder while a command uses Spark's warehouse.

    The embedded Derby metastore admits one process: a second `propensity run` would fail
    minutes later inside Derby, in thousands of log lines. This fails at once instead,
    naming the command that holds the folder. The OS releases the lock if a process dies.
    """
    import fcntl
    from datetime import datetime

    paths.home.mkdir(parents=True, exist_ok=True)
    lock_path = paths.home / LOCK_FILE
    handle = lock_path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StateBusy(
                f"{paths.home} is in use by {holder}. The embedded metastore admits one "
                "process at a time: wait for that command to finish (or stop it), then "
                "re-run. To work in parallel, give each run its own PROPENSITY_HOME."
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.now().isoformat(timespec="seconds")
        handle.write(f"`propensity {command}` (pid {os.getpid()}, started {started})\n")
        handle.flush()
        yield
    finally:
        handle.close()


# commands that use Spark: routed through the warehouse server when it runs
SPARK_COMMANDS = ("run", "ingest", "publish", "quarantine", "dbt", "sql", "sagemaker")


# commands that open the warehouse and metastore; `dbt docs serve` only serves files
def _needs_lock(args: argparse.Namespace) -> bool:
    if args.command == "dbt":
        return list(args.dbt_args[:2]) != ["docs", "serve"] and bool(args.dbt_args)
    return args.command in ("run", "ingest", "publish", "quarantine")


def _check(code: int) -> None:
    if code:
        raise StepFailed(code)


def _size_spark() -> None:
    """Size a local Spark for the landing zone before its JVM starts (not a remote one)."""
    from pyspark.sql import SparkSession

    from pipeline.spark import size_spark

    if SparkSession.getActiveSession() is None and not os.environ.get("SPARK_REMOTE"):
        chosen = size_spark(Paths.from_env().landing)
        if chosen:
            log.info(
                "Spark sized for the landing zone: %s (set them to override)",
                ", ".join(f"{k}={v}" for k, v in chosen.items()),
            )


def _spark():
    from pipeline.spark import get_spark

    _size_spark()
    return get_spark()


def _clear_generated_sources(paths: Paths) -> None:
    """Remove the generated sources' folders so another scenario leaves no stale files."""
    import shutil

    from pipeline.ingest import SOURCES

    for name in [*SOURCES, sample_data.TRUTH_FOLDER]:
        shutil.rmtree(paths.landing / name, ignore_errors=True)


def _is_sample_folder(paths: Paths) -> bool:
    """True for the default landing folder under PROPENSITY_HOME, where sample data lives."""
    return paths.landing == paths.home / "landing"


def _refuse_sample_into_user_folder(paths: Paths, args: argparse.Namespace) -> bool:
    """Generated files go only into the sample folder, or anywhere with --sample; say so."""
    if _is_sample_folder(paths) or getattr(args, "sample", False):
        return False
    log.error(
        "not generating sample data into %s: it is your landing folder "
        "(PROPENSITY_LANDING_DIR), and generated files would mix with your exports. "
        "Add --sample to write sample data there anyway, or unset PROPENSITY_LANDING_DIR "
        "to use the sample folder %s.",
        paths.landing,
        paths.home / "landing",
    )
    return True


def cmd_generate(args: argparse.Namespace, paths: Paths) -> int:
    if _refuse_sample_into_user_folder(paths, args):
        return 2
    written = sample_data.write_landing_zone(sample_data.spec_from_args(args), paths.landing)
    for source, rows in written.items():
        log.info("generated %-22s %10s rows", source, f"{rows:,}")
    return 0


def cmd_ingest(args: argparse.Namespace, paths: Paths) -> int:
    from pipeline.ingest import IngestError, ingest_all

    try:
        ingest_all(
            _spark(),
            paths.landing,
            prune_missing=args.prune_missing,
            max_rejected_share=args.max_rejected_share,
            negative_amounts=args.negative_amounts,
        )
    except IngestError as exc:
        log.error("%s", exc)
        return 2
    return 0


def quarantine_summary(spark, schema: str, source: str | None, samples: int):
    """Quarantined records grouped by source, file and reason, most frequent first, with up
    to ``samples`` example records each (a Spark aggregate: never the whole table)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from pipeline.ingest import FILE_COLUMN, QUARANTINE

    table = spark.table(f"{schema}.{QUARANTINE}").withColumn(
        "issue_level", F.coalesce("issue_level", F.lit("record"))
    )
    if source:
        table = table.where(F.col("source") == F.lit(source))
    keys = ["source", FILE_COLUMN, "issue_level", "reason"]
    ranked = table.withColumn(
        "sample_rank", F.row_number().over(Window.partitionBy(*keys).orderBy("record"))
    )
    return (
        ranked.groupBy(*keys)
        .agg(
            F.count(F.lit(1)).alias("records"),
            F.collect_list(F.when(F.col("sample_rank") <= samples, F.col("record"))).alias(
                "samples"
            ),
        )
        .orderBy(F.desc("records"), *keys)
    )


def cmd_quarantine(args: argparse.Namespace, paths: Paths) -> int:
    from pipeline.ingest import FILE_COLUMN, RAW_SCHEMA, ensure_tables

    spark = _spark()
    ensure_tables(spark)
    rows = quarantine_summary(spark, RAW_SCHEMA, args.source, args.samples).collect()
    if args.csv:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(["source", "file", "issue_level", "reason", "records", "samples"])
        for row in rows:
            writer.writerow(
                [
                    row.source,
                    row[FILE_COLUMN],
                    row.issue_level,
                    row.reason,
                    row.records,
                    " | ".join(row.samples),
                ]
            )
        return 0
    if not rows:
        print("The quarantine is empty: every record loaded.")
        return 0
    rejected = sum(row.records for row in rows if row.issue_level == "record")
    nulled = sum(row.records for row in rows if row.issue_level == "field")
    print(
        f"{rejected:,} record(s) rejected and {nulled:,} loaded with a field set to null, "
        f"in {len(rows)} group(s), most frequent first:"
    )
    for row in rows:
        what = "rejected" if row.issue_level == "record" else "loaded, field set to null"
        print(f"\n{row.source} · {row[FILE_COLUMN]} · {row.records:,} {what}: {row.reason}")
        for sample in row.samples:
            print(f"    e.g. {sample[:200]}")
    print(
        "\nFix the records in the export and land it again (a changed file replaces its "
        "earlier rows). Full records: select * from raw._quarantine"
    )
    return 0


def run_dbt(dbt_args: list[str]) -> int:
    """Run dbt in this process (sharing its Spark session); return dbt's exit code."""
    from dbt.cli.main import dbtRunner

    for flag, value in (("--project-dir", PROJECT_DIR), ("--profiles-dir", PROJECT_DIR)):
        if flag not in dbt_args and dbt_args and dbt_args[0] not in ("--version", "-h", "--help"):
            dbt_args = [*dbt_args, flag, str(value)]
    os.chdir(PROJECT_DIR)  # relative paths in profiles.yml resolve from the project
    result = dbtRunner().invoke(dbt_args)
    if result.exception is not None:
        log.error("dbt failed: %s", result.exception)
        return 2
    return 0 if result.success else 1


def cmd_dbt(args: argparse.Namespace, paths: Paths) -> int:
    # dbt-spark's session method opens the same session from profiles.yml when it needs one
    _size_spark()
    return run_dbt(list(args.dbt_args))


def parse_vars(text: str | None) -> str | None:
    """Check a --vars value is a YAML mapping (as dbt wants) before anything runs."""
    import yaml

    if not text:
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SystemExit(f"--vars {text!r} is not valid YAML: {exc}") from None
    if not isinstance(value, dict):
        raise SystemExit(
            f"--vars {text!r} must be a YAML mapping, e.g. --vars '{{churn_horizon_months: 6}}'"
        )
    return text


def report_coverage(spark, schema: str) -> None:
    """Log how many customers were scored, and why the others were not."""
    table = f"{schema}.churn_scoring_coverage"
    if not spark.catalog.tableExists(table):
        return
    rows = spark.table(table).groupBy("unscored_reason").count().collect()
    counts = {r["unscored_reason"]: r["count"] for r in rows}
    total = sum(counts.values())
    scored = counts.pop(None, 0)
    log.info(
        "coverage: %s customers, %s scored (%.1f%%), %s not scored%s",
        f"{total:,}",
        f"{scored:,}",
        100.0 * scored / total if total else 0.0,
        f"{total - scored:,}",
        ":" if counts else "",
    )
    for reason, count in sorted(counts.items(), key=lambda item: -item[1]):
        log.info("  %-30s %10s", reason, f"{count:,}")


def cmd_publish(args: argparse.Namespace, paths: Paths) -> int:
    from pipeline.publish import publish

    manifest = publish(_spark(), paths.serving, schema=args.schema)
    log.info(
        "CURRENT -> %s (as of %s, model %s)",
        manifest["version"],
        manifest["as_of_month"],
        manifest["model_version"],
    )
    return 0


def _landing_is_empty(paths: Paths) -> bool:
    folder = paths.landing / "customers"
    return not folder.is_dir() or not any(folder.iterdir())


def cmd_run(args: argparse.Namespace, paths: Paths) -> int:
    started = time.monotonic()
    dbt_vars = parse_vars(args.vars)
    log.info("project %s, state in %s", PROJECT_DIR, paths.home)
    from pipeline.ingest import IngestError, check_landing_layout, expected_layout

    try:
        check_landing_layout(paths.landing)
    except IngestError as exc:
        log.error("%s", exc)
        return 2
    wants_sample = args.regenerate or _landing_is_empty(paths)
    if wants_sample and not _is_sample_folder(paths) and not args.sample:
        if args.regenerate:
            _refuse_sample_into_user_folder(paths, args)
        else:
            log.error(
                "no customers files in %s. Sample data is generated only into the sample "
                "folder %s (unset PROPENSITY_LANDING_DIR) or with --sample.\n%s",
                paths.landing,
                paths.home / "landing",
                expected_layout(paths.landing),
            )
        return 2
    if wants_sample:
        what = f"{args.scenario} scenario, {args.customers:,} customers, {args.months} months"
        with step(f"generate sample data ({what})"):
            if args.regenerate:
                _clear_generated_sources(paths)
                # the old sample's files are gone on purpose: their rows go too
                args.prune_missing = True
            cmd_generate(args, paths)
    else:
        log.info("landing zone %s has files: not generating (use --regenerate)", paths.landing)
    try:
        with step("start Spark"):
            _spark()
        with step("ingest landing files into raw tables"):
            _check(cmd_ingest(args, paths))
        with step("check source freshness"):
            freshness = ["source", "freshness", *(["--vars", dbt_vars] if dbt_vars else [])]
            code = run_dbt(freshness)
            if code == 1:  # 1: stale sources; 2: dbt itself failed (its error is above)
                log.error(
                    "the raw data is older than freshness_error_after_hours: load new landing "
                    "files, or raise the threshold, e.g. --vars "
                    "'{freshness_error_after_hours: 720}'"
                )
            _check(code)
        with step("dbt build"):
            build = ["build", *(["--select", args.select] if args.select else [])]
            _check(run_dbt([*build, *(["--vars", dbt_vars] if dbt_vars else [])]))
        with step("publish scored marts for serving"):
            _check(cmd_publish(args, paths))
        with step("write the PDF reports (model performance, segment summary)"):
            args.version = None
            _check(cmd_report(args, paths))
        report_coverage(_spark(), args.schema)
    except StepFailed as failed:
        log.error(
            "stopped: fix the error above and re-run `propensity run` (loaded files are "
            "skipped, nothing is loaded twice)"
        )
        return failed.code
    log.info(
        "done in %.0fs. Next: `propensity serve-api` (http://localhost:8000/docs), "
        "`propensity dashboard` (http://localhost:8501), `make docs` for lineage",
        time.monotonic() - started,
    )
    return 0


def cmd_warehouse(args: argparse.Namespace, paths: Paths) -> int:
    from pipeline import warehouse
    from pipeline.metastore import MetastoreError, MetastoreInUse

    if args.action == "start":
        try:
            settings = warehouse.ServerSettings.from_env()
            if args.host:
                settings = dataclasses.replace(settings, host=args.host)
            state = warehouse.start(
                paths,
                settings,
                master=args.master,
                driver_memory=args.driver_memory,
                allow_unauthenticated=args.allow_unauthenticated,
                extra_confs=warehouse.parse_confs(args.conf),
            )
        except (warehouse.WarehouseError, MetastoreInUse, MetastoreError) as exc:
            log.error("%s", exc)
            return 2
        print(_describe_server(state, paths))
        return 0
    if args.action == "stop":
        stopped = warehouse.stop(paths)
        print(
            f"stopped the warehouse server (pid {stopped.pid})"
            if stopped
            else f"no warehouse server was started for {paths.home}"
        )
        return 0
    up = warehouse.running(paths)
    if up is None:
        recorded = warehouse.read_state(paths)
        print(
            f"not running for {paths.home}"
            + (
                f" (the server recorded with pid {recorded.pid} has exited; its log: "
                f"{recorded.log_file})"
                if recorded
                else ""
            )
            + ". Start it with `propensity warehouse start`."
        )
        return 1
    print(_describe_server(up, paths))
    return 0


def _describe_server(state, paths: Paths) -> str:
    from pipeline.warehouse import beeline_command

    return "\n".join(
        [
            f"warehouse server running (pid {state.pid}, since {state.started_at}, "
            f"authentication: {state.auth})",
            f"  JDBC / ODBC (HiveServer2): {state.jdbc_url}",
            f"  Spark Connect:             {state.connect_url}",
            f"  beeline:                   {beeline_command(state)}",
            f"  log:                       {state.log_file}",
            "  `propensity run`, `propensity dbt …`, `propensity sql` and `dbt build` in this "
            "project now run through it.",
            f"  Stop it with `propensity warehouse stop` (state in {paths.home}).",
        ]
    )


def _write_csv(frame, out, max_rows: int) -> int:
    """Write a query's rows as CSV: all of them, streamed, to ``out``; or at most
    ``max_rows`` to stdout when ``out`` is None. Return the number of rows written."""
    import csv

    rows = frame.toLocalIterator() if out else iter(frame.limit(max_rows + 1).collect())
    writer = csv.writer(out or sys.stdout)
    writer.writerow(frame.columns)
    written = 0
    for row in rows:
        if out is None and written == max_rows:
            log.warning(
                "only the first %d rows are shown: use --max-rows N, or --output FILE for all",
                max_rows,
            )
            break
        writer.writerow(list(row))
        written += 1
    return written


def cmd_sql(args: argparse.Namespace, paths: Paths) -> int:
    """Run one query and write its rows as CSV, streamed (never the whole result in memory)."""
    query = args.query if args.query != "-" else sys.stdin.read()
    if not query.strip():
        log.error("no query: pass it as an argument, or `-` to read it from stdin")
        return 2
    spark = _spark()
    from pyspark.errors import PySparkException

    try:
        spark.catalog.setCurrentDatabase(args.schema)
        frame = spark.sql(query)
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(open(args.output, "w", newline="")) if args.output else None
            written = _write_csv(frame, out, args.max_rows)
    except PySparkException as exc:
        log.error("the query failed: %s", str(exc).strip().splitlines()[0])
        if "SCHEMA_NOT_FOUND" in str(exc):
            log.error("build the marts first with `propensity run`, or name another --schema")
        return 2
    if args.output:
        log.info("%s rows written to %s", f"{written:,}", args.output)
    return 0


def cmd_api_key(args: argparse.Namespace, paths: Paths) -> int:
    from serving.api.config import Settings
    from serving.api.security import add_key, hash_key, read_keys_file, revoke_key

    keys_file = Settings().api_keys_file
    try:
        if args.action == "new":
            key = add_key(keys_file, args.name)
            print(
                f"API key for {args.name} (shown once; only its hash is kept in {keys_file}):\n"
                f"  {key}\n"
                f"Callers send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`. "
                "Running APIs accept it at once."
            )
        elif args.action == "list":
            entries = read_keys_file(keys_file) if keys_file.exists() else []
            for entry in entries:
                print(f"{entry.name}\tcreated {entry.created_at or '?'}\t{entry.key_hash[:19]}…")
            if not entries:
                print(f"no API keys in {keys_file}: make one with `propensity api-key new`")
        elif args.action == "revoke":
            if not revoke_key(keys_file, args.name):
                log.error("no key named %r in %s", args.name, keys_file)
                return 2
            print(f"revoked {args.name}'s key: running APIs refuse it from now on")
        else:  # hash: for PROPENSITY_API_KEY_HASHES, from stdin so the key stays out of history
            key = sys.stdin.readline().strip()
            if not key:
                log.error(
                    "send the key on standard input, e.g. `propensity api-key hash < key.txt`"
                )
                return 2
            print(hash_key(key))
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    return 0


def cmd_serve_api(args: argparse.Namespace, paths: Paths) -> int:
    import uvicorn

    from serving.api.config import Settings
    from serving.api.security import ApiKeys, add_key

    settings = Settings()
    if not ApiKeys(settings.api_key_hashes, settings.api_keys_file).configured():
        key = add_key(settings.api_keys_file, "local")
        log.info(
            "no API keys were configured: made one named 'local' (shown once; its hash is in "
            "%s):\n  %s\nTry: curl -H 'X-API-Key: %s' http://%s:%d/customers/C0000002",
            settings.api_keys_file,
            key,
            key,
            args.host,
            args.port,
        )
    uvicorn.run("serving.api.main:app", host=args.host, port=args.port, log_level="info")
    return 0


def cmd_dashboard(args: argparse.Namespace, paths: Paths) -> int:
    app = PROJECT_DIR / "serving" / "dashboard" / "app.py"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # a viewer's toolbar: no "Deploy" button or developer options for business users
        "--client.toolbarMode",
        "viewer",
    ]
    return subprocess.call(command)


def cmd_report(args: argparse.Namespace, paths: Paths) -> int:
    from serving.reports import ReportError, write_reports

    try:
        written = write_reports(paths.serving, args.version)
    except ReportError as exc:
        log.error("%s", exc)
        return 2
    for path in written:
        print(path)
    return 0


def cmd_sagemaker(args: argparse.Namespace, paths: Paths) -> int:
    """Train, batch-score, deploy or inspect on Amazon SageMaker (the sagemaker extra)."""
    try:
        from ml.sagemaker import launcher
    except ImportError:
        log.error("the SageMaker launcher needs the sagemaker extra: pip install '.[sagemaker]'")
        return 2
    try:
        config = launcher.SageMakerConfig.from_env()
        if args.action == "train":
            extra = ["--vars", "{training_backend: sagemaker}"]
            _size_spark()
            return run_dbt(["build", "--select", "churn_model_registry", *extra])
        session = launcher.boto_session(config)
        if args.action == "status":
            kind, name = args.kind, args.name or config.endpoint_name
            for key, value in launcher.status(session, config, kind, name).items():
                print(f"{key}: {value}")
            return 0
        spark = _spark()
        registry = spark.table(f"{args.schema}.churn_model_registry")
        latest = registry.orderBy(registry["trained_at"].desc()).first()
        if latest is None:
            log.error("churn_model_registry is empty: run `propensity sagemaker train` first")
            return 2
        source = registry.where(registry["model_version"] == latest["scoring_model_version"])
        record = source.first()
        if record is None or not str(record["artifact_uri"]).startswith("s3://"):
            log.error(
                "the scoring model %s was trained locally; SageMaker serves a model.tar.gz in "
                "S3: run `propensity sagemaker train` first",
                latest["scoring_model_version"],
            )
            return 2
        uri, version = record["artifact_uri"], record["model_version"]
        if args.action == "deploy":
            name = launcher.deploy(session, config, uri, version)
            print(
                f"endpoint {name} is being created or updated; `propensity sagemaker status "
                f"--kind endpoint` tells when it is InService"
            )
            return 0
        return _sagemaker_batch_score(spark, args.schema, launcher, session, config, uri, record)
    except launcher.SageMakerError as exc:
        log.error("%s", exc)
        return 2


def _sagemaker_batch_score(spark, schema, launcher, session, config, uri, record) -> int:
    """Score churn_scores' customers with a batch transform; answers to churn_scores_sagemaker."""
    import json as json_

    import pandas as pd

    from ml.spark_jobs import scored_features

    features = json_.loads(record["feature_names"])
    rows = (
        scored_features(
            spark.table(f"{schema}.customer_features_monthly"),
            spark.table(f"{schema}.churn_scores"),
        )
        .select("customer_id", *features)
        .orderBy("customer_id")
    )

    def chunks():
        batch = []
        for row in rows.toLocalIterator():
            batch.append(row.asDict())
            if len(batch) == launcher.PART_ROWS:
                yield pd.DataFrame(batch)
                batch = []
        if batch:
            yield pd.DataFrame(batch)

    answers = launcher.batch_score(
        session, config, uri, chunks(), features, record["model_version"]
    )
    table = f"{schema}.churn_scores_sagemaker"
    written = 0
    for number, frame in enumerate(answers):
        spark.createDataFrame(frame).write.mode("overwrite" if number == 0 else "append").format(
            "parquet"
        ).saveAsTable(table)
        written += len(frame)
    log.info("%s SageMaker scores written to %s", f"{written:,}", table)
    return 0


def add_ingest_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ingestion step, shared by `propensity ingest` and `propensity run`."""
    parser.add_argument(
        "--prune-missing",
        action="store_true",
        help="remove the rows of landing files that were deleted (default: keep them and warn)",
    )
    parser.add_argument(
        "--max-rejected-share",
        type=float,
        default=None,
        metavar="SHARE",
        help="stop when a file loses more than this share of its records to quarantine "
        "(default: PROPENSITY_MAX_REJECTED_SHARE or 0.2)",
    )
    parser.add_argument(
        "--negative-amounts",
        choices=["refund", "reject"],
        default=os.environ.get("PROPENSITY_NEGATIVE_AMOUNTS", "refund"),
        help="a negative transaction amount is a refund and loads, or an error and is "
        "quarantined (default: PROPENSITY_NEGATIVE_AMOUNTS or refund)",
    )


def add_sample_argument(parser: argparse.ArgumentParser) -> None:
    """--sample: the explicit consent to write generated files outside the sample folder."""
    parser.add_argument(
        "--sample",
        action="store_true",
        help="allow generated sample data in a landing folder set by PROPENSITY_LANDING_DIR "
        "(by default it goes only into PROPENSITY_HOME/landing)",
    )


def add_schema_argument(parser: argparse.ArgumentParser, meaning: str) -> None:
    """--schema: where the marts are (PROPENSITY_SCHEMA, default analytics)."""
    parser.add_argument(
        "--schema",
        default=os.environ.get("PROPENSITY_SCHEMA", "analytics"),
        help=f"{meaning} (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The `propensity` command line."""
    parser = argparse.ArgumentParser(
        prog="propensity",
        description="Customer Propensity: churn scores, SHAP drivers and segments on Spark + dbt.",
        epilog="State lives in PROPENSITY_HOME (default: .propensity/ in the project).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--home", type=Path, help="state folder (overrides PROPENSITY_HOME)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="generate (if needed), ingest, dbt build, publish",
        description="The main job: generate sample data when the landing "
        "zone is empty, ingest, dbt build, publish for serving.",
    )
    sample_data.add_arguments(run)
    run.add_argument(
        "--regenerate",
        action="store_true",
        help="overwrite the landing zone with freshly generated sample data",
    )
    add_sample_argument(run)
    run.add_argument("--select", help="dbt --select for the build step (default: everything)")
    run.add_argument(
        "--vars",
        help="dbt vars for the build step, as YAML, e.g. "
        "'{churn_horizon_months: 6, churn_definition: non_contractual}'",
    )
    add_schema_argument(run, "schema of the marts to publish")
    add_ingest_arguments(run)
    run.set_defaults(func=cmd_run)

    gen = sub.add_parser(
        "generate",
        help="write a deterministic sample landing zone",
        description="Write sample CSV/JSON/Parquet landing files.",
    )
    sample_data.add_arguments(gen)
    add_sample_argument(gen)
    gen.set_defaults(func=cmd_generate)

    ing = sub.add_parser(
        "ingest",
        help="load landing files into raw tables",
        description="Load new or changed landing files into raw.* tables; "
        "bad records go to raw._quarantine, every file to raw._load_audit.",
    )
    add_ingest_arguments(ing)
    ing.set_defaults(func=cmd_ingest)

    dbt = sub.add_parser(
        "dbt",
        help="run a dbt command in the project's Spark session",
        description="Run dbt with --project-dir/--profiles-dir set, e.g. "
        "`propensity dbt build --select churn_scores+`.",
    )
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="arguments passed to dbt")

    quarantine = sub.add_parser(
        "quarantine",
        help="show rejected records by file and reason, with samples",
        description="Show raw._quarantine grouped by source, file and reason (most frequent "
        "first) with a few example records each.",
    )
    quarantine.add_argument("--source", help="only this source, e.g. transactions")
    quarantine.add_argument(
        "--samples", type=int, default=3, help="example records per group (default: 3)"
    )
    quarantine.add_argument("--csv", action="store_true", help="write CSV to stdout instead")
    quarantine.set_defaults(func=cmd_quarantine)
    dbt.set_defaults(func=cmd_dbt)

    pub = sub.add_parser(
        "publish",
        help="publish scored marts for the API and dashboard",
        description="Copy the serving marts to a new version and switch CURRENT to it atomically.",
    )
    add_schema_argument(pub, "schema of the marts")
    pub.set_defaults(func=cmd_publish)

    wh = sub.add_parser(
        "warehouse",
        help="start, check or stop the warehouse server (JDBC + Spark Connect)",
        description="One Spark JVM on the project's warehouse and metastore: the Thrift server "
        "(jdbc:hive2://127.0.0.1:10000/analytics, for beeline, DBeaver and any JDBC/ODBC tool) "
        "and Spark Connect (sc://127.0.0.1:15002). While it runs, `propensity run`, "
        "`propensity dbt`, `propensity sql` and `dbt build` go through it, so analysts and "
        "pipelines share the warehouse. Settings: PROPENSITY_WAREHOUSE_HOST, _THRIFT_PORT, "
        "_CONNECT_PORT, _AUTH (none, ldap, custom) and the README's analyst section.",
    )
    wh.add_argument("action", choices=["start", "status", "stop"], help="what to do")
    wh.add_argument("--host", help="bind address (default: PROPENSITY_WAREHOUSE_HOST or 127.0.0.1)")
    wh.add_argument("--master", help="Spark master (default: SPARK_MASTER or local[2])")
    wh.add_argument(
        "--driver-memory", help="the server's memory (default: sized from the landing zone)"
    )
    wh.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="bind beyond loopback with no authentication (refused by default)",
    )
    wh.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting for the server and its executors, as spark-submit's --conf "
        "(repeatable), e.g. --conf spark.executor.memory=8g on a cluster",
    )
    wh.set_defaults(func=cmd_warehouse)

    sql = sub.add_parser(
        "sql",
        help="run one SQL query and print CSV (through the warehouse server when it runs)",
        description="Run one Spark SQL query against the warehouse and write the rows as CSV, "
        'e.g. `propensity sql "select * from customer_churn_overview limit 10"`. Goes '
        "through the warehouse server when it runs (seconds), otherwise starts Spark here.",
    )
    sql.add_argument("query", help="the query, or - to read it from stdin")
    add_schema_argument(sql, "default schema for unqualified names")
    sql.add_argument(
        "--output", "-o", help="write every row to this CSV file (default: stdout, first rows)"
    )
    sql.add_argument(
        "--max-rows",
        type=int,
        default=10_000,
        help="rows written to stdout at most (default: %(default)s)",
    )
    sql.set_defaults(func=cmd_sql)

    api = sub.add_parser(
        "serve-api",
        help="serve the FastAPI app",
        description="Serve the API over the published marts (no Spark).",
    )
    api.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
    api.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    api.set_defaults(func=cmd_serve_api)

    keys = sub.add_parser(
        "api-key",
        help="make, list or revoke API keys",
        description="API keys for the API: `new` prints a key once and keeps only its SHA-256 "
        "in the keys file (PROPENSITY_API_KEYS_FILE, default <PROPENSITY_HOME>/api_keys); "
        "`revoke` removes it; running APIs follow the file without a restart. To rotate: "
        "make a new key, hand it out, revoke the old one. `hash` reads a key on standard "
        "input and prints the hash for PROPENSITY_API_KEY_HASHES.",
    )
    keys.add_argument("action", choices=["new", "list", "revoke", "hash"], help="what to do")
    keys.add_argument("--name", default="", help="who holds the key (new, revoke)")
    keys.set_defaults(func=cmd_api_key)

    report = sub.add_parser(
        "report",
        help="write the two PDF reports of a published version",
        description="Write model_performance_churn.pdf and segment_summary_report.pdf into "
        "<serving>/versions/<version>/reports/ from what that version published (no Spark). "
        "`propensity run` writes them at its end.",
    )
    report.add_argument("--version", help="published version (default: the current one)")
    report.set_defaults(func=cmd_report)

    dash = sub.add_parser(
        "dashboard",
        help="serve the Streamlit dashboard",
        description="Serve the dashboard over the published marts (no Spark).",
    )
    dash.add_argument("--port", type=int, default=8501, help="port (default: %(default)s)")
    dash.set_defaults(func=cmd_dashboard)

    sm = sub.add_parser(
        "sagemaker",
        help="train, batch-score or deploy the churn model on Amazon SageMaker",
        description="Run the project's container on Amazon SageMaker (needs the sagemaker "
        "extra and PROPENSITY_SAGEMAKER_IMAGE_URI, _ROLE_ARN, _BUCKET and _REGION). train: "
        "build churn_model_registry with training_backend: sagemaker (uploads the training "
        "set, runs a training job, registers its s3:// artifact). batch-score: a batch "
        "transform over churn_scores' customers, answers to churn_scores_sagemaker. deploy: "
        "create or update the real-time endpoint with the scoring model. status: what "
        "SageMaker says of a job or endpoint.",
    )
    sm.add_argument("action", choices=["train", "batch-score", "deploy", "status"])
    add_schema_argument(sm, "where the marts are")
    sm.add_argument(
        "--kind",
        choices=["training", "transform", "endpoint"],
        default="endpoint",
        help="status: what to describe (default: %(default)s)",
    )
    sm.add_argument("--name", help="status: the job or endpoint name (default: the endpoint)")
    sm.set_defaults(func=cmd_sagemaker)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `propensity` command."""
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    paths = Paths.from_env(args.home)
    paths.export()
    from pipeline.metastore import MetastoreError, MetastoreInUse

    if args.command in SPARK_COMMANDS:
        from pipeline.warehouse import route_through_server

        remote = route_through_server(paths)
        if remote:
            log.info("the warehouse server runs: sending Spark work through %s", remote)

    try:
        if not _needs_lock(args):
            return args.func(args, paths)
        with state_lock(paths, args.command):
            return args.func(args, paths)
    except (StateBusy, MetastoreInUse, MetastoreError) as busy:
        log.error("%s", busy)
        return 3


if __name__ == "__main__":
    sys.exit(main())
