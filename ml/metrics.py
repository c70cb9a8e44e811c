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


def curve_points(y_true: np.ndarray, y_score: np.ndarray, points: int = 101) -> dict:
    """ROC, precision-recall and cumulative gains of a ranking, at ``points`` evenly spaced
    shares of rows contacted from the highest score down (small enough to keep with the
    model, for the performance report): share_contacted, tpr (= recall = share of churners
    found), fpr and precision at each."""
    y_true = np.asarray(y_true, dtype=float)
    order = np.argsort(-np.asarray(y_score, dtype=float), kind="stable")
    found = np.concatenate([[0.0], np.cumsum(y_true[order])])
    cut = np.unique(np.round(np.linspace(0, len(y_true), points)).astype(int))
    positives, negatives = found[-1], len(y_true) - found[-1]
    tpr = found[cut] / positives if positives else np.zeros(len(cut))
    fpr = (cut - found[cut]) / negatives if negatives else np.zeros(len(cut))
    precision = np.divide(found[cut], cut, out=np.full(len(cut), np.nan), where=cut > 0)
    return {
        "share_contacted": (cut / max(len(y_true), 1)).round(6).tolist(),
        "tpr": tpr.round(6).tolist(),
        "fpr": fpr.round(6).tolist(),
        "precision": [None if np.isnan(p) else round(float(p), 6) for p in precision],
    }
