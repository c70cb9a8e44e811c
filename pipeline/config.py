"""Where the pipeline keeps its state; every path can be moved with an environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


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
