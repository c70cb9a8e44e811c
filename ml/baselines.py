"""Simple baselines every churn model must beat, fitted on the same rows as the model.

* the recency rule: the longer since the last purchase, the likelier the churn (a logistic
  regression on log days since the last transaction, so it also yields probabilities);
* the RFM logistic regression: recency, frequency (purchase days to date), monetary value
  (mean transaction amount) and customer age (days since the first purchase).

A missing value (no purchase yet) is encoded by an indicator column. Both are linear in their
inputs, so exact SHAP values are ``coef * (z - mean(z))`` on the standardised design; each
input's indicator is attributed to the input itself. When no XGBoost model has been promoted,
the RFM regression is what scores, so it speaks the same interface as ChurnClassifier.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

RECENCY_FEATURES = ("days_since_last_transaction",)
RFM_FEATURES = (
    "days_since_last_transaction",
    "purchase_day_count_to_date",
    "transaction_amount_mean_to_date",
    "days_since_first_transaction",
)


class LogisticBaseline(ClassifierMixin, BaseEstimator):
    """Logistic regression on log1p-transformed, standardised inputs plus missing indicators."""

    def __init__(self, features: tuple[str, ...] = RFM_FEATURES, C: float = 1.0) -> None:
        self.features = features
        self.C = C

    def _design(self, X: pd.DataFrame) -> np.ndarray:
        columns = []
        for name in self.features:
            values = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=float)
            missing = ~np.isfinite(values)
            columns.append(np.where(missing, 0.0, np.log1p(np.clip(values, 0, None))))
            columns.append(missing.astype(float))
        return np.column_stack(columns)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LogisticBaseline:
        """Fit on a feature frame and 0/1 labels; returns self."""
        y = np.asarray(y, dtype=int)
        design = self._design(X)
        self.mean_ = design.mean(axis=0)
        scale = design.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        regression = LogisticRegression(C=self.C, max_iter=2000)
        regression.fit((design - self.mean_) / self.scale_, y)
        self.coef_ = regression.coef_[0].astype(float)
        self.intercept_ = float(regression.intercept_[0])
        self.classes_ = np.array([0, 1])
        self.feature_names_ = list(self.features)
        return self

    def _standardised(self, X: pd.DataFrame) -> np.ndarray:
        return (self._design(X) - self.mean_) / self.scale_

    def predict_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds per row."""
        return self._standardised(X) @ self.coef_ + self.intercept_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Two columns, P(no churn) and P(churn), as scikit-learn classifiers return."""
        p = 1.0 / (1.0 + np.exp(-self.predict_margin(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 at a probability of one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def shap_values(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Exact linear SHAP per input: (n_rows x n_features, n_rows base values)."""
        parts = self._standardised(X) * self.coef_
        values = parts[:, 0::2] + parts[:, 1::2]  # value column + its missing indicator
        return values, np.full(len(X), self.intercept_)

    def to_bytes(self) -> bytes:
        """JSON serialisation of the fitted state."""
        state = {
            "features": list(self.features),
            "C": self.C,
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
        }
        return json.dumps(state).encode()

    @classmethod
    def from_bytes(cls, payload: bytes) -> LogisticBaseline:
        """Inverse of ``to_bytes``."""
        state = json.loads(payload)
        model = cls(features=tuple(state["features"]), C=state["C"])
        model.mean_ = np.asarray(state["mean"])
        model.scale_ = np.asarray(state["scale"])
        model.coef_ = np.asarray(state["coef"])
        model.intercept_ = float(state["intercept"])
        model.classes_ = np.array([0, 1])
        model.feature_names_ = list(model.features)
        return model
