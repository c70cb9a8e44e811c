"""Train a churn model on a training frame with an out-of-time validation window."""

from __future__ import annotations

import pandas as pd

from ml.metrics import classification_report
from ml.model import ChurnClassifier


def train_churn_model(
    frame: pd.DataFrame,
    features: list[str],
    label: str = "is_churned_within_horizon",
    split_column: str = "dataset_split",
    params: dict | None = None,
) -> tuple[ChurnClassifier, dict[str, dict[str, float]]]:
    """Fit on the 'train' rows, evaluate on both splits; return the model and metrics."""
    if frame.empty:
        raise ValueError(
            "the training set is empty: the data must cover more months than "
            "churn_horizon_months + validation_months"
        )
    train = frame[frame[split_column] == "train"]
    valid = frame[frame[split_column] == "validation"]
    if train.empty or valid.empty:
        raise ValueError(
            f"need both train and validation rows, got {len(train)} train and {len(valid)} "
            "validation: generate more months or lower validation_months"
        )
    model = ChurnClassifier(**(params or {})).fit(train[features], train[label].astype(int))
    metrics = {
        "train": classification_report(
            train[label].astype(int), model.predict_proba(train[features])
        ),
        "validation": classification_report(
            valid[label].astype(int), model.predict_proba(valid[features])
        ),
    }
    return model, metrics
