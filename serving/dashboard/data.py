"""Shared data access for the dashboard pages: the current published snapshot, cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from serving.layout import Paths
from serving.store import (
    IncompleteVersionError,
    Snapshot,
    complete_versions,
    current_version,
    load_snapshot,
)


def serving_dir() -> Path:
    """Where the published marts are (PROPENSITY_SERVING_DIR or the project default)."""
    return Paths.from_env().serving


@st.cache_data(show_spinner="Loading published scores…", max_entries=2)
def _load(serving: str, version: str) -> Snapshot:
    return load_snapshot(Path(serving), version)


def snapshot_or_stop() -> Snapshot:
    """The current snapshot; explains what to do and stops the page when none exists."""
    serving = serving_dir()
    version = current_version(serving)
    if version is None:
        st.warning(
            f"No published scores in `{serving}` yet. Run `propensity run` (or `make "
            "quickstart`) and reload this page."
        )
        st.stop()
    try:
        return _load(str(serving), version)
    except IncompleteVersionError as exc:
        fallback = complete_versions(serving)
        if not fallback:
            st.error(
                f"The published scores in `{serving}` are incomplete ({exc}). Run `propensity "
                "publish` again and reload this page."
            )
            st.stop()
        snapshot = _load(str(serving), fallback[-1])
        st.warning(
            "The newest published scores are incomplete, so this page shows the previous "
            f"ones (published {snapshot.manifest.get('published_at', 'earlier')}). Ask the "
            f"data team to run `propensity publish` again. Details: {exc}"
        )
        return snapshot


@st.cache_data(max_entries=2)
def typical_values(serving: str, version: str) -> dict[str, float]:
    """Each feature's median over the published segmenter sample (a bounded sample of the
    scored customers, ``value__<feature>`` columns); empty when the version has none."""
    import pyarrow.parquet as pq

    from serving.layout import VERSIONS_DIR
    from serving.reports import VALUE_PREFIX as prefix

    folder = Path(serving) / VERSIONS_DIR / version / "segmenter"
    if not folder.is_dir():
        return {}
    names = [
        n for n in pq.read_schema(next(folder.glob("*.parquet"))).names if n.startswith(prefix)
    ]
    if not names:
        return {}
    medians = pq.read_table(folder, columns=names).to_pandas().median()
    return {name[len(prefix) :]: float(value) for name, value in medians.items()}


@st.cache_data(max_entries=4)
def version_trend(serving: str, versions: tuple[str, ...]) -> pd.DataFrame:
    """Per published version (oldest first): the month scored, customers scored, expected
    leavers and high-risk customers, from each version's customers table."""
    import json

    import pyarrow.parquet as pq

    from serving.layout import MANIFEST_FILE, VERSIONS_DIR

    rows = []
    for version in versions:
        root = Path(serving) / VERSIONS_DIR / version
        manifest = json.loads((root / MANIFEST_FILE).read_text())
        scores = pq.read_table(
            root / "customers", columns=["churn_probability", "risk_band"]
        ).to_pandas()
        rows.append(
            {
                "published": str(manifest.get("published_at", version))[:16].replace("T", " "),
                "scored month": str(manifest.get("as_of_month", ""))[:7],
                "customers scored": len(scores),
                "expected to leave": float(scores["churn_probability"].sum()),
                "high risk": int((scores["risk_band"] == "high").sum()),
            }
        )
    return pd.DataFrame(rows)


@st.cache_data(max_entries=64)
def score_history(serving: str, versions: tuple[str, ...], customer_id: str) -> pd.DataFrame:
    """One customer's score in each published version (oldest first): the month scored, the
    churn probability, the risk band and the segment; versions that did not score them are
    left out. Reads only that customer's rows (a filter pushed into the Parquet reader)."""
    import json

    import pyarrow.parquet as pq

    from serving.layout import MANIFEST_FILE, VERSIONS_DIR

    rows = []
    for version in versions:
        root = Path(serving) / VERSIONS_DIR / version
        found = pq.read_table(
            root / "customers",
            columns=["churn_probability", "risk_band", "segment_name"],
            filters=[("customer_id", "==", customer_id)],
        ).to_pylist()
        if not found:
            continue
        manifest = json.loads((root / MANIFEST_FILE).read_text())
        rows.append(
            {
                "scored month": str(manifest.get("as_of_month", ""))[:7],
                "published": str(manifest.get("published_at", version))[:16].replace("T", " "),
                "churn probability": float(found[0]["churn_probability"]),
                "risk band": str(found[0]["risk_band"]).title(),
                "segment": found[0]["segment_name"],
            }
        )
    return pd.DataFrame(rows)


def probability_histogram(customers: pd.DataFrame, bins: int = 20) -> pd.DataFrame:
    """Customer counts per churn-probability bin, for a bar chart."""
    edges = np.linspace(0, 1, bins + 1)
    counts, _ = np.histogram(customers["churn_probability"], bins=edges)
    labels = [f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return pd.DataFrame({"churn probability": labels, "customers": counts}).set_index(
        "churn probability"
    )
