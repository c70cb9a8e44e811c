"""Read the published marts without Spark: pyarrow only, reloaded when CURRENT changes.

A version is loaded only when it is complete (manifest present, row counts matching). When
CURRENT points anywhere else, the cache keeps serving the last good version and says why
(``SnapshotCache.problem``, which /health reports); starting against a broken pointer, it
serves the newest complete version instead.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from serving.index import INDEX_FILE, CustomerIndex, build_index
from serving.layout import (
    MANIFEST_FILE,
    OPTIONAL_TABLES,
    POINTER_FILE,
    TABLES,
    VERSIONS_DIR,
    version_problem,
)
from serving.scoring import NoScoringModelError, RealtimeScorer

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
    def current_model(self) -> dict:
        """The registry row of the model that produced the scores."""
        return _current_model(self.models, self.manifest)

    @property
    def customer_count(self) -> int:
        return len(self.customers)


def _current_model(models: pd.DataFrame, manifest: dict) -> dict:
    if models.empty or "model_version" not in models:
        return {}
    rows = models[models["model_version"] == manifest.get("model_version")]
    return rows.iloc[0].to_dict() if len(rows) else {}


@dataclass(frozen=True)
class ApiSnapshot:
    """What the API serves of one complete version: the small tables in memory and the
    customers in the version's on-disk index (memory does not grow with customers)."""

    version: str
    manifest: dict
    index: CustomerIndex
    segments: pd.DataFrame
    models: pd.DataFrame
    validation: pd.DataFrame
    features: pd.DataFrame
    scorer: Any = None  # serving.scoring.RealtimeScorer, when the version carries a model
    scoring_problem: str | None = None  # why it cannot score in real time, if so

    @property
    def current_model(self) -> dict:
        """The registry row of the model that produced the scores."""
        return _current_model(self.models, self.manifest)

    @property
    def customer_count(self) -> int:
        return self.index.counts.get("customers", 0)


def _complete_version(serving_dir: Path, version: str | None) -> tuple[str, Path]:
    """The version to load (CURRENT's by default) and its folder, when it is complete;
    NotPublishedError or IncompleteVersionError (saying why) otherwise."""
    version = version or current_version(serving_dir)
    if version is None:
        raise NotPublishedError(_nothing_published(serving_dir))
    if not VERSION_NAME.fullmatch(version):
        raise IncompleteVersionError(f"{version[:80]!r} is not a version name")
    root = serving_dir / VERSIONS_DIR / version
    problem = version_problem(root)
    if problem is not None:
        raise IncompleteVersionError(problem)
    return version, root


def load_api_snapshot(serving_dir: Path, version: str | None = None) -> ApiSnapshot:
    """Open a complete published version for the API (building its index if it predates
    them), reading only the small tables into memory."""
    version, root = _complete_version(Path(serving_dir), version)
    try:
        manifest = json.loads((root / MANIFEST_FILE).read_text())
        if not (root / INDEX_FILE).exists():
            log.info("version %s has no %s: building it once", version, INDEX_FILE)
            build_index(root)
        small = {
            name: pq.read_table(root / name).to_pandas() if (root / name).is_dir() else None
            for name in ("segments", "models", "validation", "features")
        }
        empty = pd.DataFrame()
        tables = {name: frame if frame is not None else empty for name, frame in small.items()}
        scorer, scoring_problem = None, None
        try:
            scorer = RealtimeScorer.from_version(root, tables["segments"], tables["features"])
        except NoScoringModelError as exc:
            scoring_problem = str(exc)
        return ApiSnapshot(
            version,
            manifest,
            CustomerIndex(root / INDEX_FILE),
            tables["segments"],
            tables["models"],
            tables["validation"],
            tables["features"],
            scorer=scorer,
            scoring_problem=scoring_problem,
        )
    except Exception as exc:  # a damaged file: never take the service down with it
        raise IncompleteVersionError(f"version {version} cannot be loaded: {exc}") from exc


def current_version(serving_dir: Path) -> str | None:
    """The version CURRENT points at, or None before the first publish."""
    try:
        return (Path(serving_dir) / POINTER_FILE).read_text().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def load_snapshot(serving_dir: Path, version: str | None = None) -> Snapshot:
    """Load a published version (the current one by default)."""
    version, root = _complete_version(Path(serving_dir), version)
    try:
        manifest = json.loads((root / MANIFEST_FILE).read_text())
        frames = {
            name: pq.read_table(root / name).to_pandas()
            for name in TABLES
            if name != "segmenter"  # real-time scoring's, not the dashboard's
            and (name not in OPTIONAL_TABLES or (root / name).is_dir())
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
    return snapshot


def complete_versions(serving_dir: Path) -> list[str]:
    """The complete published versions, oldest first."""
    folder = Path(serving_dir) / VERSIONS_DIR
    names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return [name for name in names if version_problem(folder / name) is None]


class SnapshotCache:
    """Hold the last good snapshot; move to a new one when CURRENT points at a complete
    version (thread-safe). A broken pointer is retried every ``retry_seconds``."""

    def __init__(
        self,
        serving_dir: Path,
        retry_seconds: float = 30.0,
        loader: Callable[[Path, str], Any] | None = None,
    ) -> None:
        self.serving_dir = Path(serving_dir)
        self.loader = loader or load_snapshot
        self.retry_seconds = retry_seconds
        self.problem: str | None = None  # why the served version is not CURRENT's, if so
        self._snapshot: Any = None
        self._failed: tuple[str | None, float] | None = None  # (pointer, when) that failed
        self._lock = threading.Lock()
        self._pointer_state: tuple | None = None
        self._pointer_value: str | None = None

    def peek(self) -> Any:
        """The snapshot when it is current and needs no loading, else None (no I/O but a
        stat of CURRENT: safe on the event loop)."""
        snapshot = self._snapshot
        return snapshot if snapshot is not None and snapshot.version == self._pointer() else None

    def get(self) -> Any:
        """The snapshot to serve; raises NotPublishedError when no complete version exists."""
        pointer = self._pointer()
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
                self._snapshot = self.loader(self.serving_dir, pointer)
                self._failed, self.problem = None, None
                return self._snapshot
            except (IncompleteVersionError, NotPublishedError) as exc:
                self._failed = (pointer, time.monotonic())
                self._fall_back(pointer, str(exc))
                return self._last_good()

    def _pointer(self) -> str | None:
        """CURRENT's version, re-read only when the file changed (a stat per request; the
        atomic replace that publishes gives it a new inode)."""
        try:
            stat = os.stat(self.serving_dir / POINTER_FILE)
            state: tuple | None = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            state = None
        if state != self._pointer_state or state is None:
            self._pointer_value = current_version(self.serving_dir)
            self._pointer_state = state
        return self._pointer_value

    def _fall_back(self, pointer: str | None, reason: str) -> None:
        """Keep the last good snapshot, or load the newest complete version; record why."""
        if pointer is None:
            where = "the CURRENT pointer is missing"
        else:
            where = f"CURRENT points at {pointer[:80]!r}, which cannot be served ({reason})"
        if self._snapshot is None:
            for version in reversed(complete_versions(self.serving_dir)):
                try:
                    self._snapshot = self.loader(self.serving_dir, version)
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

    def _last_good(self) -> Any:
        if self._snapshot is None:
            raise NotPublishedError(self.problem or _nothing_published(self.serving_dir))
        return self._snapshot


def _nothing_published(serving_dir: Path) -> str:
    return (
        f"no published scores in {serving_dir}: run `propensity run` (or `propensity "
        "publish` after `dbt build`), or point PROPENSITY_SERVING_DIR at a published folder"
    )
