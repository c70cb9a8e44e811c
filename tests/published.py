"""Small published versions written by hand, in the layout `propensity publish` writes, for
serving tests that need no Spark."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd

from serving.layout import MANIFEST_FILE, VERSIONS_DIR


def write_version(serving: Path, version: str, customers: list[str] = ["C1"]) -> Path:  # noqa: B006
    """A complete published version: customers, segments, models, coverage and manifest."""
    root = serving / VERSIONS_DIR / version
    drivers = [
        {
            "driver_rank": 1,
            "feature_name": "days_since_last_transaction",
            "feature_description": "Days since the last transaction",
            "feature_value": 40.0,
            "shap_value": 0.8,
        }
    ]
    tables = {
        "customers": pd.DataFrame(
            {
                "customer_id": customers,
                "model_version": "m1",
                "risk_band": "high",
                "segment_name": "Segment 0: Quiet lately",
                "churn_probability": [
                    0.9 - i / (10 * len(customers)) for i in range(len(customers))
                ],
                "score_percentile": 90,
                "segment_id": 0,
                "top_drivers": [drivers] * len(customers),
                "as_of_month": date(2026, 9, 1),
                "scored_at": datetime(2026, 10, 1, tzinfo=timezone.utc),
            }
        ),
        "segments": pd.DataFrame({"segment_id": [0], "segment_name": ["Segment 0: Quiet lately"]}),
        "models": pd.DataFrame({"model_version": ["m1"], "roc_auc": [0.7]}),
        "coverage": pd.DataFrame(
            {
                "customer_id": ["C-ended"],
                "unscored_reason": ["contract_ended"],
                "unscored_reason_description": ["the contract ended"],
            }
        ),
    }
    for name, frame in tables.items():
        (root / name).mkdir(parents=True)
        frame.to_parquet(root / name / "part-00000.parquet")
    manifest = {
        "version": version,
        "published_at": "2026-10-01T00:00:00+00:00",
        "row_counts": {name: len(frame) for name, frame in tables.items()},
        "as_of_month": "2026-09-01",
        "model_version": "m1",
    }
    (root / MANIFEST_FILE).write_text(json.dumps(manifest))
    return root
