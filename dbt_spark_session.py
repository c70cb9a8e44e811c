"""dbt plugin: run dbt-spark Python models in the active Spark session.

Out of the box, dbt-spark submits Python models only to Databricks clusters. dbt imports
every installed top-level module whose name starts with ``dbt_`` when it starts (see
``dbt/plugins/manager.py``). Importing this module registers one more submission method,
``session``, on the Spark adapter:

    models:
      my_project:
        +submission_method: session

The compiled model runs in this process against ``SparkSession.builder.getOrCreate()``:

* with dbt-spark's ``method: session`` profile, that is the same in-process Spark session
  dbt's SQL models use (local ``local[*]`` or a cluster's driver);
* with ``SPARK_REMOTE=sc://host:15002`` set, PySpark's builder returns a Spark Connect
  session instead, so the same project runs against a remote cluster with no code change.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from typing import Any

__all__ = ["SUBMISSION_METHOD", "SessionPythonJobHelper", "plugins", "register"]

SUBMISSION_METHOD = "session"

# dbt reads this attribute; this module needs no manifest hooks, only the import side effect.
plugins: list = []

logger = logging.getLogger(__name__)


class SessionPythonJobHelper:
    """Execute a compiled dbt Python model in the current process's Spark session."""

    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials
        self.relation = ".".join(
            part for part in (parsed_model.get("schema"), parsed_model.get("alias")) if part
        )

    def submit(self, compiled_code: str) -> dict:
        """Run the model code; the code itself ends by writing the target table."""
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
        started = time.monotonic()
        where = os.environ.get("SPARK_REMOTE") or "in-process Spark"
        logger.info("running python model %s on %s", self.relation, where)
        namespace: dict[str, Any] = {"spark": spark, "__name__": f"dbt_model_{self.relation}"}
        code = compile(compiled_code, f"<dbt python model {self.relation}>", "exec")
        exec(code, namespace)  # noqa: S102 - this is dbt's compiled model code
        return {"relation": self.relation, "seconds": round(time.monotonic() - started, 3)}


def register() -> bool:
    """Add the ``session`` method to dbt-spark; return False when dbt-spark is absent."""
    try:
        from dbt.adapters.spark.impl import SparkAdapter
    except ImportError:  # another adapter's project: nothing to do
        return False
    helpers_property = SparkAdapter.__dict__.get("python_submission_helpers")
    if getattr(helpers_property.fget, "_session_registered", False):
        return True
    original = helpers_property.fget

    def python_submission_helpers(self):  # type: ignore[no-untyped-def]
        helpers = dict(original(self))
        helpers[SUBMISSION_METHOD] = SessionPythonJobHelper
        return helpers

    python_submission_helpers._session_registered = True  # type: ignore[attr-defined]
    SparkAdapter.python_submission_helpers = property(python_submission_helpers)  # type: ignore[method-assign]
    return True


def route_through_warehouse_server() -> str | None:
    """A plain `dbt build` goes through `propensity warehouse start`'s server when it runs
    (the embedded metastore admits one process); nothing changes otherwise."""
    if os.environ.get("SPARK_REMOTE"):
        return None
    try:
        from pipeline.warehouse import route_through_server
        from serving.layout import Paths
    except ImportError:  # the project is not installed: nothing to route to
        return None
    remote = route_through_server(Paths.from_env())
    if remote:
        logger.info("the warehouse server runs: dbt goes through %s", remote)
        _send_session_settings_only()
    return remote


def _send_session_settings_only() -> None:
    """dbt read profiles.yml before importing this plugin, so a plain `dbt build` has the
    `local` target's settings: master, memory, warehouse and metastore, which a Spark Connect
    session cannot take (pyspark refuses a master next to a remote). Routed to the server,
    its session cursor sends only the settings the `connect` target names; the server owns
    the rest."""
    try:
        from dbt.adapters.spark import session

        from pipeline.spark import spark_settings
    except ImportError:
        return
    session_level = set(spark_settings(target="connect"))
    original = session.Cursor.__init__
    if getattr(original, "_routed", False):
        return

    def __init__(self, *, server_side_parameters=None):  # type: ignore[no-untyped-def]
        kept = {
            key: value
            for key, value in (server_side_parameters or {}).items()
            if key in session_level
        }
        original(self, server_side_parameters=kept)

    __init__._routed = True  # type: ignore[attr-defined]
    session.Cursor.__init__ = __init__  # type: ignore[method-assign]


register()
route_through_warehouse_server()
# dbt-spark's cursor asks every session for Hive support; a Spark Connect server has its own
# catalog and says so once per statement: that warning tells the user nothing
warnings.filterwarnings(
    "ignore", message="Failed to set spark.sql.catalogImplementation", category=UserWarning
)
# Python workers of a local session must use dbt's interpreter (the one with pandas, xgboost
# and this project installed); a cluster's own PYSPARK_PYTHON setting is left alone.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
