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
                "top_driver_description": "Days since the last transaction",
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
        "segments": pd.DataFrame(
            {
                "segment_id": [0, 1],
                "segment_name": ["Segment 0: Quiet lately", "Segment 1: Fewer products"],
                "top_drivers": ["Days since the last transaction; Transactions, 3-month mean", ""],
                "customer_count": [len(customers), 0],
                "customer_share": [1.0, 0.0],
                "expected_churn_rate": [0.5, 0.0],
                "observed_churn_rate": [0.4, None],
                "high_risk_share": [0.9, 0.0],
                "is_new_segment": [False, True],
                "as_of_month": date(2026, 9, 1),
            }
        ),
        "models": pd.DataFrame(
            {
                "model_version": ["m1"],
                "algorithm": ["xgboost"],
                "churn_definition": ["contractual"],
                "horizon_months": [3],
                "roc_auc": [0.7],
                "pr_auc": [0.3],
                "recency_roc_auc": [0.6],
                "rfm_roc_auc": [0.65],
                "expected_calibration_error": [0.02],
                "train_start_month": [date(2025, 8, 1)],
                "train_end_month": [date(2026, 1, 1)],
                "validation_start_month": [date(2026, 4, 1)],
                "validation_end_month": [date(2026, 5, 1)],
                "trained_at": [datetime(2026, 10, 1)],
            }
        ),
        "validation": pd.DataFrame(
            {
                "model_version": ["m1", "m1"],
                "validation_rows": [100, 90],
                "churners": [10, 9],
                "model_roc_auc": [0.71, 0.69],
                "rfm_roc_auc": [0.66, 0.64],
                "recency_roc_auc": [0.6, 0.61],
                "is_flagged_one_class_only": [False, False],
                "as_of_month": [date(2026, 4, 1), date(2026, 5, 1)],
            }
        ),
        "features": pd.DataFrame(
            {
                "feature_name": ["days_since_last_transaction", "region_code"],
                "feature_label": ["Days since last transaction", "Region"],
                "feature_description": ["Days since the last transaction", "Region code"],
                "feature_group": ["rfm", "profile"],
                "is_model_input": [True, False],
            }
        ),
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
