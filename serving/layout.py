"""What the writer (pipeline/) and the readers (serving/) share: where state lives and the
layout of a published version. The one module both sides import, so serving/ never imports
pipeline/ (the API and dashboard run without Spark or dbt)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

# A published version: <serving>/versions/<id>/<table>/ (parquet) + manifest.json, and the
# CURRENT pointer file naming the complete version readers should use.
POINTER_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
VERSIONS_DIR = "versions"
# published name -> mart
TABLES = {
    "customers": "customer_churn_overview",
    "segments": "churn_segment_profiles",
    "models": "churn_models",
    "coverage": "churn_scoring_coverage",
    "validation": "churn_model_validation_by_month",
    "features": "feature_dictionary",
    "segmenter": "churn_segmenter",
}
# published name -> schema suffix, for tables outside the marts' schema (dbt's custom schema)
TABLE_SCHEMA_SUFFIX = {"features": "reference"}
# published before these existed: readers treat them as empty when missing
OPTIONAL_TABLES = {"coverage", "validation", "features", "segmenter"}
# real-time scoring: <version>/scoring/ holds the scoring model and the facts it is used with
SCORING_DIR = "scoring"
SCORING_MODEL_FILE = "model.json"
SCORING_FACTS_FILE = "scoring.json"
# the scoring model's training record (metrics, curves, reliability), for the reports
SCORING_EVIDENCE_FILE = "evidence.json"
KEEP_VERSIONS = 3


def version_problem(root: Path) -> str | None:
    """Why a published version folder cannot be served, or None when it is complete: its
    manifest is present and every table holds the rows the manifest counted."""
    import pyarrow.dataset as ds
    from pyarrow import ArrowException

    if not root.is_dir():
        return f"version {root.name} does not exist in {root.parent}"
    try:
        manifest = json.loads((root / MANIFEST_FILE).read_text())
    except FileNotFoundError:
        return f"version {root.name} has no {MANIFEST_FILE}: its publish did not finish"
    except (OSError, ValueError) as exc:
        return f"version {root.name}: {MANIFEST_FILE} cannot be read ({exc})"
    counts = manifest.get("row_counts") if isinstance(manifest, dict) else None
    if not isinstance(counts, dict):
        return f"version {root.name}: {MANIFEST_FILE} has no row_counts"
    for name in TABLES:
        if name in OPTIONAL_TABLES and name not in counts:
            continue
        folder = root / name
        if not folder.is_dir():
            return f"version {root.name}: table {name} is missing"
        try:
            rows = ds.dataset(folder, format="parquet").count_rows()
        except (OSError, ArrowException) as exc:
            return f"version {root.name}: table {name} cannot be read ({exc})"
        if rows != counts.get(name):
            return (
                f"version {root.name}: table {name} has {rows} rows, its manifest says "
                f"{counts.get(name)}"
            )
    if "scoring" in manifest:
        for name in (SCORING_MODEL_FILE, SCORING_FACTS_FILE):
            if not (root / SCORING_DIR / name).is_file():
                return f"version {root.name}: {SCORING_DIR}/{name} is missing"
    if "index" in manifest:  # the API's store (older versions have none: it is built)
        from serving.index import INDEX_FILE, index_counts

        try:
            built = index_counts(root / INDEX_FILE)
        except Exception as exc:  # missing or damaged: sqlite3 raises several kinds
            return f"version {root.name}: {INDEX_FILE} cannot be read ({exc})"
        if built != manifest["index"]:
            return f"version {root.name}: {INDEX_FILE} holds {built}, its manifest says " + str(
                manifest["index"]
            )
    return None


def table_folder(warehouse: Path, name: str, schema: str = "analytics") -> Path:
    """The folder of a warehouse table's parquet files, for reading it without Spark.

    A rebuilt table lives in `<name>__dbt_swap_a` or `_b` (macros/materializations/
    table_swap.sql); when no build is running exactly one of the three folders exists.
    """
    base = warehouse / f"{schema}.db"
    found = [
        base / folder
        for folder in (name, f"{name}__dbt_swap_a", f"{name}__dbt_swap_b")
        if (base / folder).is_dir()
    ]
    if len(found) != 1:
        raise FileNotFoundError(
            f"table {schema}.{name}: expected one folder under {base}, found {len(found)}"
            " (run `propensity dbt build` to (re)build it, and wait for a running build)"
        )
    return found[0]


@dataclass(frozen=True)
class Paths:
    """Absolute locations of the landing zone, warehouse, metastore, model store and serving."""

    home: Path
    landing: Path
    warehouse: Path
    metastore: Path
    model_store: Path
    serving: Path

    @classmethod
    def from_env(cls, home: str | os.PathLike | None = None) -> Paths:
        """Resolve paths from PROPENSITY_* variables, defaulting under PROPENSITY_HOME."""
        root = Path(home or os.environ.get("PROPENSITY_HOME") or PROJECT_DIR / ".propensity")
        root = root.resolve()

        def pick(var: str, default: Path) -> Path:
            return Path(os.environ.get(var) or default).resolve()

        return cls(
            home=root,
            landing=pick("PROPENSITY_LANDING_DIR", root / "landing"),
            warehouse=pick("PROPENSITY_WAREHOUSE_DIR", root / "warehouse"),
            metastore=pick("PROPENSITY_METASTORE_DIR", root / "metastore"),
            model_store=pick("PROPENSITY_MODEL_STORE", root / "model_store"),
            serving=pick("PROPENSITY_SERVING_DIR", root / "serving"),
        )

    def export(self) -> None:
        """Pin these paths in the environment so dbt, python models and serving agree."""
        os.environ["PROPENSITY_HOME"] = str(self.home)
        os.environ["PROPENSITY_LANDING_DIR"] = str(self.landing)
        os.environ["PROPENSITY_WAREHOUSE_DIR"] = str(self.warehouse)
        os.environ["PROPENSITY_METASTORE_DIR"] = str(self.metastore)
        os.environ["PROPENSITY_MODEL_STORE"] = str(self.model_store)
        os.environ["PROPENSITY_SERVING_DIR"] = str(self.serving)
