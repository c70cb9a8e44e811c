"""Classification metrics reported for every trained churn model."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score


def top_decile_lift(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Churn rate among the 10% highest scores divided by the overall churn rate."""
    y_true = np.asarray(y_true, dtype=float)
    y_score = np.asarray(y_score, dtype=float)
    base_rate = y_true.mean()
    if len(y_true) == 0 or base_rate == 0:
        return float("nan")
    top = max(1, int(np.ceil(0.1 * len(y_true))))
    order = np.argsort(-y_score, kind="stable")[:top]
    return float(y_true[order].mean() / base_rate)


def classification_report(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC, log loss and top-decile lift; NaN where a metric is undefined."""
    y_true = np.asarray(y_true, dtype=int)
    y_score = np.clip(np.asarray(y_score, dtype=float), 1e-7, 1 - 1e-7)
    both_classes = len(np.unique(y_true)) == 2
    return {
        "roc_auc": float(roc_auc_score(y_true, y_score)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(y_true, y_score)) if both_classes else float("nan"),
        "log_loss": float(log_loss(y_true, y_score, labels=[0, 1]))
        if len(y_true)
        else float("nan"),
        "top_decile_lift": top_decile_lift(y_true, y_score),
        "positive_rate": float(y_true.mean()) if len(y_true) else float("nan"),
        "rows": int(len(y_true)),
    }


def reliability_table(y_true: np.ndarray, y_prob: np.ndarray, bins: int = 10) -> list[dict]:
    """Equal-width probability bins: rows, mean predicted and observed churn rate per bin."""
    y_true = np.asarray(y_true, dtype=float)
    y_prob = np.asarray(y_prob, dtype=float)
    index = np.minimum((y_prob * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        rows = index == b
        count = int(rows.sum())
        table.append(
            {
                "bin": b + 1,
                "probability_from": b / bins,
                "probability_to": (b + 1) / bins,
                "rows": count,
                "mean_predicted": float(y_prob[rows].mean()) if count else None,
                "observed_rate": float(y_true[rows].mean()) if count else None,
            }
        )
    return table


def expected_calibration_error(y_true: np.ndarray, y_prob: np.ndarray, bins: int = 10) -> float:
    """Row-weighted mean |observed rate - mean predicted| over equal-width bins."""
    total = len(np.asarray(y_true))
    if total == 0:
        return float("nan")
    return float(
        sum(
            row["rows"] / total * abs(row["observed_rate"] - row["mean_predicted"])
            for row in reliability_table(y_true, y_prob, bins)
            if row["rows"]
        )
    )


def ranking_report(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC and top-decile lift of a ranking; NaN where undefined."""
    y_true = np.asarray(y_true, dtype=int)
    y_score = np.asarray(y_score, dtype=float)
    both_classes = len(np.unique(y_true)) == 2
    return {
        "roc_auc": float(roc_auc_score(y_true, y_score)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(y_true, y_score)) if both_classes else float("nan"),
        "top_decile_lift": top_decile_lift(y_true, y_score),
    }
