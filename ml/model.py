"""The churn classifier: XGBoost with exact TreeSHAP attributions, scikit-learn style."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import xgboost as xgb


def check_device(device: str | None) -> str:
    """The device XGBoost trains and explains on: ``cpu`` (the default), or ``cuda`` /
    ``cuda:N`` for a GPU, checked here. Asked for a GPU it cannot find, XGBoost only warns
    and runs on the CPU; here that is an error that says so."""
    name = str(device or "cpu").strip().lower()
    if name == "cpu":
        return name
    if not re.fullmatch(r"cuda(:[0-9]+)?", name):
        raise ValueError(
            f"device is {device!r}: use cpu (the default) or cuda, to train and explain on a "
            "GPU (e.g. --vars '{device: cuda}')"
        )
    if not xgb.build_info().get("USE_CUDA"):
        raise RuntimeError(
            f"device={name}, but this XGBoost ({xgb.__version__}) was built without CUDA: "
            "install the `xgboost` wheel (not `xgboost-cpu`) on a machine with an NVIDIA GPU, "
            "or use device=cpu"
        )
    with xgb.config_context(verbosity=0):  # its warning is the fallback this turns into an error
        probe = xgb.train(
            {"device": name, "tree_method": "hist"},
            xgb.DMatrix(np.array([[0.0], [1.0]]), label=[0.0, 1.0]),
            1,
        )
    found = json.loads(probe.save_config())["learner"]["generic_param"]["device"]
    if found == "cpu":
        raise RuntimeError(
            f"device={name}, but XGBoost finds no GPU on this machine (is the NVIDIA driver "
            "installed, and CUDA_VISIBLE_DEVICES not empty?): use device=cpu, the default"
        )
    return name


class ChurnClassifier:
    """Gradient-boosted trees for P(churn within the horizon).

    ``shap_values`` returns exact TreeSHAP attributions (XGBoost's ``pred_contribs``), so for
    every row ``base_value + attributions.sum() == margin`` up to float rounding.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        max_depth: int = 4,
        learning_rate: float = 0.05,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_child_weight: float = 5.0,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int | None = None,
        random_state: int = 42,
        device: str = "cpu",
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state
        self.device = device
        self.n_jobs = n_jobs

    def get_params(self) -> dict:
        """The constructor parameters, as scikit-learn estimators expose them."""
        return {
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "reg_lambda": self.reg_lambda,
            "early_stopping_rounds": self.early_stopping_rounds,
            "random_state": self.random_state,
            "device": self.device,
            "n_jobs": self.n_jobs,
        }

    def _booster_params(self) -> dict:
        params = {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "lambda": self.reg_lambda,
            "seed": self.random_state,
            "device": self.device,
        }
        if self.n_jobs:
            params["nthread"] = self.n_jobs
        return params

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        eval_set: tuple[pd.DataFrame, np.ndarray] | None = None,
    ) -> ChurnClassifier:
        """Train on a feature frame and 0/1 labels; returns self.

        With ``eval_set`` and ``early_stopping_rounds``, boosting stops when the eval log loss
        has not improved for that many rounds, and only the trees up to the best round are
        kept (``best_iteration_``), so predictions and SHAP values use the same trees.
        """
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X must be a pandas DataFrame with named feature columns")
        y = np.asarray(y, dtype=float)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        if len(np.unique(y)) < 2:
            raise ValueError(
                "the training labels hold a single class: need churners and non-churners; "
                "check churn_horizon_months and that the data covers enough months"
            )
        self.feature_names_ = list(X.columns)
        dtrain = xgb.DMatrix(X.astype(float), label=y, feature_names=self.feature_names_)
        if eval_set is None or not self.early_stopping_rounds:
            self.booster_ = xgb.train(self._booster_params(), dtrain, self.n_estimators)
            self.best_iteration_ = self.n_estimators - 1
            return self
        X_eval, y_eval = eval_set
        deval = xgb.DMatrix(
            X_eval[self.feature_names_].astype(float),
            label=np.asarray(y_eval, dtype=float),
            feature_names=self.feature_names_,
        )
        booster = xgb.train(
            self._booster_params(),
            dtrain,
            self.n_estimators,
            evals=[(deval, "validation")],
            early_stopping_rounds=self.early_stopping_rounds,
            verbose_eval=False,
        )
        self.best_iteration_ = int(booster.best_iteration)
        self.booster_ = booster[: self.best_iteration_ + 1]
        return self

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        """The model's feature columns of X, as floats, in training order."""
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise KeyError(f"feature columns missing from input: {', '.join(missing)}")
        return X[self.feature_names_].astype(float)

    def _matrix(self, X: pd.DataFrame) -> xgb.DMatrix:
        return xgb.DMatrix(self._features(X), feature_names=self.feature_names_)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(churn) per row (a 1-D array; column 1 of scikit-learn's layout)."""
        return self.booster_.predict(self._matrix(X))

    def predict_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds per row: the quantity SHAP values add up to."""
        return self.booster_.predict(self._matrix(X), output_margin=True)

    def shap_values(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Exact TreeSHAP: (n_rows x n_features attributions, n_rows base values).

        On CPU by per-leaf tables (ml/treeshap.py: the values of XGBoost's pred_contribs,
        about 6x faster); on a GPU (device="cuda") by XGBoost's GPUTreeShap."""
        if self.device != "cpu":
            contribs = self.booster_.predict(self._matrix(X), pred_contribs=True)
            return contribs[:, :-1], contribs[:, -1]
        if getattr(self, "explainer_", None) is None:
            from ml.treeshap import PatternTreeExplainer

            self.explainer_ = PatternTreeExplainer(self.booster_)
        matrix = self._features(X).to_numpy(dtype=np.float32)
        contribs = self.explainer_.contributions(matrix)
        return contribs[:, :-1], contribs[:, -1]

    def use_device(self, device: str) -> ChurnClassifier:
        """Predict and explain on ``device`` from now on (a model loads onto the CPU)."""
        self.booster_.set_param({"device": device})
        self.device = device
        return self

    def feature_importance(self) -> dict[str, float]:
        """Total gain per feature."""
        scores = self.booster_.get_score(importance_type="total_gain")
        return {name: float(np.sum(value)) for name, value in scores.items()}

    def to_bytes(self) -> bytes:
        """Serialise booster + metadata (UBJSON model inside a JSON envelope)."""
        raw = self.booster_.save_raw(raw_format="ubj")
        envelope = {
            "params": self.get_params(),
            "feature_names": self.feature_names_,
            "best_iteration": getattr(self, "best_iteration_", self.n_estimators - 1),
        }
        header = json.dumps(envelope).encode()
        return len(header).to_bytes(8, "big") + header + bytes(raw)

    @classmethod
    def from_bytes(cls, payload: bytes) -> ChurnClassifier:
        """Inverse of ``to_bytes``."""
        size = int.from_bytes(payload[:8], "big")
        envelope = json.loads(payload[8 : 8 + size])
        model = cls(**envelope["params"])
        model.feature_names_ = envelope["feature_names"]
        model.best_iteration_ = envelope.get("best_iteration", model.n_estimators - 1)
        model.booster_ = xgb.Booster()
        model.booster_.load_model(bytearray(payload[8 + size :]))
        model.booster_.set_param({"device": "cpu"})
        model.device = "cpu"  # loaded for scoring on CPU workers, whatever it trained on
        return model
