"""What the writer (pipeline/) and the readers (serving/) share: where state lives and the
layout of a published version. The one module both sides import, so serving/ never imports
pipeline/ (the API and dashboard run without Spark or dbt)."""

from __future__ import annotations

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
}
# published before coverage existed: readers treat these as empty when missing
OPTIONAL_TABLES = {"coverage"}
KEEP_VERSIONS = 3


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
