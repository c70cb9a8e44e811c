"""One Spark session for ingestion, dbt and the python models, configured by profiles.yml."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import jinja2
import yaml

from pipeline.config import PROJECT_DIR

RAW_SCHEMA = "raw"  # where ingestion writes; dbt sources read it
GIB = 1 << 30


def driver_memory_for(landing_bytes: int, machine_bytes: int) -> str:
    """Local Spark memory for a landing zone: the 4 GB default, plus 3 bytes per byte of
    landing data (parsed rows and shuffles are a few times their files),
    at most 70% of the machine's memory and never below the default."""
    want = 4 * GIB + 3 * landing_bytes
    cap = max(4 * GIB, int(machine_bytes * 0.7))
    return f"{max(4, min(want, cap) // GIB)}g"


def _machine_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * GIB


def shuffle_partitions_for(landing_bytes: int) -> int:
    """Shuffle partitions for a landing zone: 4 (the small-data default) up to 1 GiB, then
    one per 256 MiB, at most 200, so that no shuffle partition of a large run holds
    gigabytes (adaptive execution still merges the small ones)."""
    return max(4, min(200, -(-landing_bytes // (256 << 20))))


def size_spark(landing: Path) -> dict[str, str]:
    """Set SPARK_DRIVER_MEMORY and SPARK_SHUFFLE_PARTITIONS from the landing zone's size,
    each unless the user set it; return the settings chosen."""
    files = [p for p in landing.rglob("*") if p.is_file()] if landing.is_dir() else []
    size = sum(p.stat().st_size for p in files)
    chosen = {}
    if not os.environ.get("SPARK_DRIVER_MEMORY"):
        chosen["SPARK_DRIVER_MEMORY"] = driver_memory_for(size, _machine_bytes())
    if not os.environ.get("SPARK_SHUFFLE_PARTITIONS"):
        chosen["SPARK_SHUFFLE_PARTITIONS"] = str(shuffle_partitions_for(size))
    os.environ.update(chosen)
    return chosen


def spark_settings(
    profiles_dir: Path = PROJECT_DIR,
    target: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the `server_side_parameters` of a dbt target in profiles.yml, rendered with
    ``env`` (default: this process's environment) as dbt's ``env_var`` would."""
    environ = os.environ if env is None else env

    def env_var(name: str, default: str | None = None) -> str:
        value = environ.get(name, default)
        if value is None:
            raise KeyError(f"environment variable {name} is not set and has no default")
        return value

    text = (profiles_dir / "profiles.yml").read_text()
    environment = jinja2.Environment()
    # dbt's filters that profiles.yml uses (`threads`); this reads only the Spark settings
    environment.filters["as_number"] = lambda value: value
    rendered = environment.from_string(text).render(env_var=env_var)
    profile = yaml.safe_load(rendered)["customer_propensity"]
    name = target or profile["target"]
    output = profile["outputs"][name]
    if output.get("method") != "session":
        raise ValueError(f"target {name!r} uses method {output.get('method')!r}; need session")
    return {str(k): str(v) for k, v in output.get("server_side_parameters", {}).items()}


def get_spark(target: str | None = None):
    """Create (or return) the process's Spark session with the profile's settings."""
    from pyspark.sql import SparkSession

    if not os.environ.get("SPARK_REMOTE") and SparkSession.getActiveSession() is None:
        from pipeline.config import Paths
        from pipeline.metastore import check_metastore_free

        check_metastore_free(Paths.from_env().metastore)  # before any JVM retries it
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = spark_settings(target=target)
    builder = SparkSession.builder
    if not os.environ.get("SPARK_REMOTE"):  # a Connect server has its own catalog settings
        builder = builder.enableHiveSupport()
    for key, value in settings.items():
        builder = builder.config(key, value)
    if not os.environ.get("SPARK_REMOTE"):  # JDBC drivers for database sources
        from pipeline.jdbc import driver_jars

        jars = driver_jars()
        if jars:
            builder = builder.config("spark.jars", ",".join(jars))
            builder = builder.config("spark.driver.extraClassPath", os.pathsep.join(jars))
    if os.environ.get("SPARK_REMOTE") or SparkSession.getActiveSession() is not None:
        return builder.getOrCreate()
    from pipeline.metastore import initialise_metastore, shared_metastore_ready

    with shared_metastore_ready() as first_use:
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel(os.environ.get("SPARK_LOG_LEVEL", "WARN"))
        if first_use:
            initialise_metastore(spark)
    return spark
