"""Read the published marts without Spark: pyarrow only, reloaded when CURRENT changes.

A version is loaded only when it is complete (manifest present, row counts matching). When
CURRENT points anywhere else, the cache keeps serving the last good version and says why
(``SnapshotCache.problem``, which /health reports); starting against a broken pointer, it
serves the newest complete version instead.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from serving.layout import (
    MANIFEST_FILE,
    OPTIONAL_TABLES,
    POINTER_FILE,
    TABLES,
    VERSIONS_DIR,
    version_problem,
)

log = logging.getLogger(__name__)
VERSION_NAME = re.compile(r"[0-9A-Za-z_-]{1,64}")  # what publish names a version folder


class NotPublishedError(RuntimeError):
    """No complete published version exists yet."""


class IncompleteVersionError(RuntimeError):
    """A published version folder is missing, unfinished or damaged; the message says how."""


@dataclass(frozen=True)
class Snapshot:
    """One complete published version of the serving marts, in memory."""

    version: str
    manifest: dict
    customers: pd.DataFrame  # indexed by customer_id
    segments: pd.DataFrame
    models: pd.DataFrame
    coverage: pd.DataFrame  # unscored customers with their reason, indexed by customer_id
    validation: pd.DataFrame  # out-of-time metrics per model version and month
    features: pd.DataFrame  # the feature dictionary

    @property
    def ranked(self) -> pd.DataFrame:
        """Customers riskiest first (ties by id): the order campaign lists page through."""
        cached = self.__dict__.get("_ranked")
        if cached is None:
            cached = (
                self.customers.reset_index(drop=True)
                .sort_values(["churn_probability", "customer_id"], ascending=[False, True])
                .reset_index(drop=True)
            )
            object.__setattr__(self, "_ranked", cached)
        return cached

    @property
    def current_model(self) -> dict:
        """The registry row of the model that produced the scores."""
        rows = self.models[self.models["model_version"] == self.manifest["model_version"]]
        return rows.iloc[0].to_dict() if len(rows) else {}


def current_version(serving_dir: Path) -> str | None:
    """The version CURRENT points at, or None before the first publish."""
    try:
        return (Path(serving_dir) / POINTER_FILE).read_text().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def load_snapshot(serving_dir: Path, version: str | None = None) -> Snapshot:
    """Load a published version (the current one by default)."""
    serving_dir = Path(serving_dir)
    version = version or current_version(serving_dir)
    if version is None:
        raise NotPublishedError(_nothing_published(serving_dir))
    if not VERSION_NAME.fullmatch(version):
        raise IncompleteVersionError(f"{version[:80]!r} is not a version name")
    root = serving_dir / VERSIONS_DIR / version
    problem = version_problem(root)
    if problem is not None:
        raise IncompleteVersionError(problem)
    try:
        manifest = json.loads((root / MANIFEST_FILE).read_text())
        frames = {
            name: pq.read_table(root / name).to_pandas()
            for name in TABLES
            if name not in OPTIONAL_TABLES or (root / name).is_dir()
        }
    except Exception as exc:  # a damaged file: never take the service down with it
        raise IncompleteVersionError(f"version {version} cannot be loaded: {exc}") from exc
    customers = frames["customers"].set_index("customer_id", drop=False)
    coverage = frames.get("coverage", pd.DataFrame(columns=["customer_id", "unscored_reason"]))
    unscored = coverage[coverage["unscored_reason"].notna()].set_index("customer_id", drop=False)
    empty = pd.DataFrame()
    snapshot = Snapshot(
        version,
        manifest,
        customers,
        frames["segments"],
        frames["models"],
        unscored,
        frames.get("validation", empty),
        frames.get("features", empty),
    )
    _ = snapshot.ranked  # sorted once at load, not on the first list request
    return snapshot


def complete_versions(serving_dir: Path) -> list[str]:
    """The complete published versions, oldest first."""
    folder = Path(serving_dir) / VERSIONS_DIR
    names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return [name for name in names if version_problem(folder / name) is None]


class SnapshotCache:
    """Hold the last good snapshot; move to a new one when CURRENT points at a complete
    version (thread-safe). A broken pointer is retried every ``retry_seconds``."""

    def __init__(self, serving_dir: Path, retry_seconds: float = 30.0) -> None:
        self.serving_dir = Path(serving_dir)
        self.retry_seconds = retry_seconds
        self.problem: str | None = None  # why the served version is not CURRENT's, if so
        self._snapshot: Snapshot | None = None
        self._failed: tuple[str | None, float] | None = None  # (pointer, when) that failed
        self._lock = threading.Lock()

    def get(self) -> Snapshot:
        """The snapshot to serve; raises NotPublishedError when no complete version exists."""
        pointer = current_version(self.serving_dir)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.version == pointer:
            return snapshot
        with self._lock:
            if self._snapshot is not None and self._snapshot.version == pointer:
                return self._snapshot
            failed_pointer, failed_at = self._failed or (None, -float("inf"))
            retry_later = self._failed is not None and failed_pointer == pointer
            if retry_later and time.monotonic() - failed_at < self.retry_seconds:
                return self._last_good()
            try:
                if pointer is None:
                    raise NotPublishedError(_nothing_published(self.serving_dir))
                self._snapshot = load_snapshot(self.serving_dir, pointer)
                self._failed, self.problem = None, None
                return self._snapshot
            except (IncompleteVersionError, NotPublishedError) as exc:
                self._failed = (pointer, time.monotonic())
                self._fall_back(pointer, str(exc))
                return self._last_good()

    def _fall_back(self, pointer: str | None, reason: str) -> None:
        """Keep the last good snapshot, or load the newest complete version; record why."""
        if pointer is None:
            where = "the CURRENT pointer is missing"
        else:
            where = f"CURRENT points at {pointer[:80]!r}, which cannot be served ({reason})"
        if self._snapshot is None:
            for version in reversed(complete_versions(self.serving_dir)):
                try:
                    self._snapshot = load_snapshot(self.serving_dir, version)
                    break
                except IncompleteVersionError:
                    continue
        if self._snapshot is None:
            self.problem = reason
            return
        self.problem = (
            f"{where}; serving {self._snapshot.version}, the last complete version. Run "
            "`propensity publish` to publish again."
        )
        log.warning("%s", self.problem)

    def _last_good(self) -> Snapshot:
        if self._snapshot is None:
            raise NotPublishedError(self.problem or _nothing_published(self.serving_dir))
        return self._snapshot


def _nothing_published(serving_dir: Path) -> str:
    return (
        f"no published scores in {serving_dir}: run `propensity run` (or `propensity "
        "publish` after `dbt build`), or point PROPENSITY_SERVING_DIR at a published folder"
    )
