"""Calibration: map a model's margin (log-odds) to a probability that means what it says.

Both calibrators are monotone non-decreasing in the margin, so the ranking of customers (and
therefore ROC AUC) is the ranking of the margin, and SHAP values, which add up to the margin,
still explain the order of the scores.

The method (Platt or isotonic) is chosen by cross-fitted log loss on the out-of-time window:
each fold's probabilities come from a calibrator fitted on the other folds, grouped by
customer, so neither the choice nor the reported calibration error is measured on data the
calibrator saw. The chosen method is then refitted on the whole window.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold

METHODS = ("platt", "isotonic")
_EPS = 1e-6


class MarginCalibrator(BaseEstimator):
    """Platt scaling (logistic on the margin) or isotonic regression on the margin."""

    def __init__(self, method: str = "platt") -> None:
        self.method = method

    def fit(self, margin: np.ndarray, y: np.ndarray) -> MarginCalibrator:
        """Fit on margins and 0/1 outcomes; returns self."""
        if self.method not in METHODS:
            raise ValueError(f"calibration method {self.method!r}: use one of {METHODS}")
        margin = np.asarray(margin, dtype=float)
        y = np.asarray(y, dtype=int)
        if self.method == "platt":
            lr = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
            self.slope_ = float(lr.coef_[0, 0])
            self.intercept_ = float(lr.intercept_[0])
        else:
            iso = IsotonicRegression(out_of_bounds="clip", y_min=_EPS, y_max=1 - _EPS)
            iso.fit(margin, y)
            self.thresholds_ = np.asarray(iso.X_thresholds_, dtype=float)
            self.values_ = np.asarray(iso.y_thresholds_, dtype=float)
        return self

    def transform(self, margin: np.ndarray) -> np.ndarray:
        """Calibrated probability for each margin."""
        margin = np.asarray(margin, dtype=float)
        if self.method == "platt":
            return 1.0 / (1.0 + np.exp(-(self.slope_ * margin + self.intercept_)))
        return np.clip(np.interp(margin, self.thresholds_, self.values_), _EPS, 1 - _EPS)

    def to_dict(self) -> dict:
        """JSON-ready learned state."""
        if self.method == "platt":
            return {"method": "platt", "slope": self.slope_, "intercept": self.intercept_}
        return {
            "method": "isotonic",
            "thresholds": self.thresholds_.tolist(),
            "values": self.values_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict) -> MarginCalibrator:
        """Inverse of ``to_dict``."""
        calibrator = cls(method=state["method"])
        if state["method"] == "platt":
            calibrator.slope_, calibrator.intercept_ = state["slope"], state["intercept"]
        else:
            calibrator.thresholds_ = np.asarray(state["thresholds"], dtype=float)
            calibrator.values_ = np.asarray(state["values"], dtype=float)
        return calibrator


def cross_fitted_probabilities(
    margin: np.ndarray, y: np.ndarray, groups: np.ndarray, method: str, folds: int = 5
) -> np.ndarray:
    """Out-of-fold calibrated probabilities, folds grouped (e.g. by customer)."""
    margin = np.asarray(margin, dtype=float)
    y = np.asarray(y, dtype=int)
    out = np.empty(len(margin))
    n_folds = min(folds, len(np.unique(groups)))
    for fit_rows, held_rows in GroupKFold(n_splits=n_folds).split(margin, y, groups):
        if len(np.unique(y[fit_rows])) < 2:  # a fold without one class: fall back to the rate
            out[held_rows] = np.clip(y[fit_rows].mean(), _EPS, 1 - _EPS)
            continue
        calibrator = MarginCalibrator(method).fit(margin[fit_rows], y[fit_rows])
        out[held_rows] = calibrator.transform(margin[held_rows])
    return out


def select_calibrator(
    margin: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int = 5
) -> tuple[MarginCalibrator, np.ndarray, dict[str, float]]:
    """Pick the method with the lower cross-fitted log loss; return it refitted on all rows,
    its cross-fitted probabilities (for honest reporting) and each method's log loss."""
    scores, probabilities = {}, {}
    for method in METHODS:
        probabilities[method] = cross_fitted_probabilities(margin, y, groups, method, folds)
        scores[method] = float(log_loss(y, probabilities[method], labels=[0, 1]))
    best = min(METHODS, key=lambda m: (scores[m], METHODS.index(m)))
    return MarginCalibrator(best).fit(margin, y), probabilities[best], scores
