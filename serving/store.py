"""Read the published marts without Spark: pyarrow only, reloaded when CURRENT changes."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from serving.layout import MANIFEST_FILE, OPTIONAL_TABLES, POINTER_FILE, TABLES, VERSIONS_DIR


class NotPublishedError(RuntimeError):
    """No published version exists yet."""


@dataclass(frozen=True)
class Snapshot:
    """One complete published version of the serving marts, in memory."""

    version: str
    manifest: dict
    customers: pd.DataFrame  # indexed by customer_id
    segments: pd.DataFrame
    models: pd.DataFrame
    coverage: pd.DataFrame  # unscored customers with their reason, indexed by customer_id

    @property
    def current_model(self) -> dict:
        """The registry row of the model that produced the scores."""
        rows = self.models[self.models["model_version"] == self.manifest["model_version"]]
        return rows.iloc[0].to_dict() if len(rows) else {}


def current_version(serving_dir: Path) -> str | None:
    """The version CURRENT points at, or None before the first publish."""
    try:
        return (Path(serving_dir) / POINTER_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def load_snapshot(serving_dir: Path, version: str | None = None) -> Snapshot:
    """Load a published version (the current one by default)."""
    serving_dir = Path(serving_dir)
    version = version or current_version(serving_dir)
    if version is None:
        raise NotPublishedError(
            f"no published scores in {serving_dir}: run `propensity run` (or `propensity "
            "publish` after `dbt build`), or point PROPENSITY_SERVING_DIR at a published folder"
        )
    root = serving_dir / VERSIONS_DIR / version
    manifest = json.loads((root / MANIFEST_FILE).read_text())
    frames = {
        name: pq.read_table(root / name).to_pandas()
        for name in TABLES
        if name not in OPTIONAL_TABLES or (root / name).is_dir()
    }
    customers = frames["customers"].set_index("customer_id", drop=False)
    coverage = frames.get("coverage", pd.DataFrame(columns=["customer_id", "unscored_reason"]))
    unscored = coverage[coverage["unscored_reason"].notna()].set_index("customer_id", drop=False)
    return Snapshot(version, manifest, customers, frames["segments"], frames["models"], unscored)


class SnapshotCache:
    """Hold the current snapshot; reload when CURRENT points somewhere new (thread-safe)."""

    def __init__(self, serving_dir: Path) -> None:
        self.serving_dir = Path(serving_dir)
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def get(self) -> Snapshot:
        """The newest complete snapshot; raises NotPublishedError before the first publish."""
        version = current_version(self.serving_dir)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.version == version:
            return snapshot
        with self._lock:
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = load_snapshot(self.serving_dir, version)
            return self._snapshot
