"""What scores customers: a fitted estimator, its calibrator, and the artifact holding both.

An artifact holds the champion candidate (``xgboost``) and the fallback that scores when no
XGBoost model has beaten the baselines (``rfm_logistic_regression``). Serialised as JSON with
the XGBoost model as base64 UBJSON: no pickle, so loading an artifact runs no code.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pandas as pd

from ml.baselines import LogisticBaseline
from ml.calibration import MarginCalibrator
from ml.model import ChurnClassifier

XGBOOST = "xgboost"
RFM_LOGISTIC_REGRESSION = "rfm_logistic_regression"
_ESTIMATORS: dict[str, Any] = {
    XGBOOST: ChurnClassifier,
    RFM_LOGISTIC_REGRESSION: LogisticBaseline,
}


class ScoringModel:
    """Margin, calibrated probability and exact SHAP values from one fitted estimator."""

    def __init__(self, estimator, calibrator: MarginCalibrator | None, algorithm: str) -> None:
        self.estimator = estimator
        self.calibrator = calibrator
        self.algorithm = algorithm

    @property
    def feature_names_(self) -> list[str]:
        """The input columns, in order."""
        return list(self.estimator.feature_names_)

    def predict_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds per row: what SHAP values add up to."""
        return np.asarray(self.estimator.predict_margin(X), dtype=float)

    def calibrate(self, margin: np.ndarray) -> np.ndarray:
        """Calibrated probability for margins (the logistic function when uncalibrated)."""
        margin = np.asarray(margin, dtype=float)
        if self.calibrator is None:
            return 1.0 / (1.0 + np.exp(-margin))
        return self.calibrator.transform(margin)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated P(churn) per row (1-D)."""
        return self.calibrate(self.predict_margin(X))

    def shap_values(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Exact attributions on the margin and the base values."""
        return self.estimator.shap_values(X)

    def use_device(self, device: str) -> ScoringModel:
        """Explain on ``device`` (``cpu``, or ``cuda`` for XGBoost's GPUTreeShap); a linear
        model's attributions need no device."""
        if device != "cpu" and hasattr(self.estimator, "use_device"):
            self.estimator.use_device(device)
        return self

    def to_dict(self) -> dict:
        """JSON-ready state."""
        return {
            "algorithm": self.algorithm,
            "estimator": base64.b64encode(self.estimator.to_bytes()).decode(),
            "calibrator": self.calibrator.to_dict() if self.calibrator else None,
        }

    @classmethod
    def from_dict(cls, state: dict) -> ScoringModel:
        """Inverse of ``to_dict``."""
        estimator = _ESTIMATORS[state["algorithm"]].from_bytes(base64.b64decode(state["estimator"]))
        calibrator = (
            MarginCalibrator.from_dict(state["calibrator"]) if state["calibrator"] else None
        )
        return cls(estimator, calibrator, state["algorithm"])

    def to_bytes(self) -> bytes:
        """Serialise for shipping to Spark tasks."""
        return json.dumps(self.to_dict()).encode()

    @classmethod
    def from_bytes(cls, payload: bytes) -> ScoringModel:
        """Inverse of ``to_bytes``."""
        return cls.from_dict(json.loads(payload))


def strongest_drivers(shap_row: np.ndarray, top: int) -> list[tuple[int, str]]:
    """(column, direction in words) of a row's ``top`` largest non-zero SHAP values, largest
    first: what real-time scoring reports as a customer's drivers."""
    order = np.argsort(-np.abs(shap_row), kind="stable")[:top]
    return [
        (int(j), "raises churn risk" if shap_row[j] > 0 else "lowers churn risk")
        for j in order
        if shap_row[j] != 0
    ]


def artifact_to_bytes(models: dict[str, ScoringModel]) -> bytes:
    """One artifact file holding every model of a training run, by algorithm."""
    return json.dumps({"models": {name: m.to_dict() for name, m in models.items()}}).encode()


def artifact_from_bytes(payload: bytes) -> dict[str, ScoringModel]:
    """Inverse of ``artifact_to_bytes``."""
    models = json.loads(payload)["models"]
    return {name: ScoringModel.from_dict(state) for name, state in models.items()}
