"""Small published versions written by hand, in the layout `propensity publish` writes, for
serving tests that need no Spark."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from serving.layout import MANIFEST_FILE, VERSIONS_DIR


def write_version(
    serving: Path,
    version: str,
    customers: list[str] = ["C1"],  # noqa: B006
    scoring: bool = False,
) -> Path:
    """A complete published version: customers, segments, models, coverage and manifest;
    with ``scoring``, also a small real model, its facts and segmenter for POST /score."""
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
                "held_customer_count": [2, 0],
                "next_review_month": date(2026, 12, 1),
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
    if scoring:
        tables["segmenter"] = write_scoring(root)
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
    if scoring:
        manifest["scoring"] = {"model_version": "m1", "features": len(SCORING_FEATURES)}
    (root / MANIFEST_FILE).write_text(json.dumps(manifest))
    return root


SCORING_FEATURES = ["days_since_last_transaction", "transaction_count", "balance_trend"]


def scoring_rows(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature rows and labels with a planted mechanism: churn follows long silences."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "days_since_last_transaction": rng.integers(0, 200, n).astype(float),
            "transaction_count": rng.poisson(6, n).astype(float),
            "balance_trend": rng.normal(0, 1, n),
        }
    )
    frame.loc[rng.random(n) < 0.2, "balance_trend"] = np.nan  # unknown for some
    logit = (frame["days_since_last_transaction"] - 100) / 30 - frame["transaction_count"] / 4
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, labels.to_numpy()


def write_scoring(root: Path) -> pd.DataFrame:
    """Write scoring/ (a small trained XGBoost, no calibrator, and its facts) the way
    publish does; return the segmenter table's rows."""
    from ml.model import ChurnClassifier
    from ml.scoring_model import ScoringModel
    from ml.segments import ShapSegmenter
    from serving.layout import SCORING_DIR, SCORING_FACTS_FILE, SCORING_MODEL_FILE

    frame, labels = scoring_rows(400)
    estimator = ChurnClassifier(n_estimators=30, max_depth=3, n_jobs=1).fit(frame, labels)
    model = ScoringModel(estimator, None, "xgboost")
    margin = model.predict_margin(frame)
    (root / SCORING_DIR).mkdir(parents=True)
    (root / SCORING_DIR / SCORING_MODEL_FILE).write_bytes(model.to_bytes())
    facts = {
        "model_version": "m1",
        "algorithm": "xgboost",
        "as_of_month": "2026-09-01",
        "risk_band_cuts": [
            {"risk_band": "high", "from_margin": float(np.quantile(margin, 0.9))},
            {"risk_band": "medium", "from_margin": float(np.quantile(margin, 0.6))},
        ],
        "features": [
            {
                "name": name,
                "observed_min": float(frame[name].min()),
                "observed_max": float(frame[name].max()),
                "nullable": bool(frame[name].isna().any()),
            }
            for name in SCORING_FEATURES
        ],
    }
    (root / SCORING_DIR / SCORING_FACTS_FILE).write_text(json.dumps(facts))
    names = sorted(SCORING_FEATURES)
    values, _ = model.shap_values(frame)
    shap = pd.DataFrame(values, columns=SCORING_FEATURES)[names]
    segmenter = ShapSegmenter(random_state=0).fit(shap.to_numpy())
    labels_ = segmenter.fit_labels_
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "customer_id": [f"F{i:04d}" for i in range(len(frame))],
                    "model_version": "m1",
                    "fit_label": labels_.astype("int32"),
                    "segment_id": pd.array(
                        [int(x) if x >= 0 else None for x in labels_], dtype="Int32"
                    ),
                    "is_new_segment": False,
                    "embedding_x": segmenter.embedding_[:, 0],
                    "embedding_y": segmenter.embedding_[:, 1],
                }
            ),
            shap,
        ],
        axis=1,
    )
