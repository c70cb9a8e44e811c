"""The table-based TreeSHAP equals XGBoost's pred_contribs on every row, missing values
included, and its values add up to the margin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from ml.treeshap import PatternTreeExplainer


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.gamma(2.0, 1.0, (n, 12)).astype(np.float32)
    X[:, :4] = np.round(X[:, :4])  # counts: many ties on split thresholds
    X[rng.random((n, 12)) < 0.15] = np.nan
    signal = np.nan_to_num(X[:, 0]) - 0.7 * np.nan_to_num(X[:, 5]) + np.isnan(X[:, 7])
    y = rng.random(n) < 1 / (1 + np.exp(-(signal - 1)))
    return X, y


@pytest.fixture(scope="module", params=[2, 4, 6])
def booster(request) -> xgb.Booster:
    X, y = _data(3000, 1)
    params = {
        "objective": "binary:logistic",
        "max_depth": request.param,
        "eta": 0.1,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "nthread": 1,
        "seed": 3,
    }
    return xgb.train(params, xgb.DMatrix(X, y, missing=np.nan), num_boost_round=40)


def test_equals_pred_contribs_on_every_row_with_and_without_missing_values(booster):
    X, _ = _data(2000, 2)
    X[0] = np.nan  # a row with nothing known
    X[1, :] = X[1, 3]  # exactly on thresholds is likely for counts
    expected = booster.predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True)
    actual = PatternTreeExplainer(booster).contributions(X)
    has_missing = np.isnan(X).any(axis=1)
    assert has_missing.sum() > 100 and (~has_missing).sum() > 50
    assert np.abs(actual - expected)[has_missing].max() < 1e-5
    assert np.abs(actual - expected)[~has_missing].max() < 1e-5


def test_values_add_up_to_the_margin(booster):
    X, _ = _data(500, 3)
    margin = booster.predict(xgb.DMatrix(X, missing=np.nan), output_margin=True)
    contribs = PatternTreeExplainer(booster).contributions(X, threads=2)
    assert np.abs(contribs.sum(axis=1) - margin).max() < 1e-5


def test_too_large_tables_fall_back_to_xgboost(booster):
    X, _ = _data(50, 4)
    explainer = PatternTreeExplainer(booster, max_table_entries=0)
    assert explainer.tables_ is None
    expected = booster.predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True)
    assert np.abs(explainer.contributions(X) - expected).max() < 1e-6


def test_the_classifier_uses_it_and_keeps_its_contract():
    from ml.model import ChurnClassifier

    X, y = _data(1500, 5)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = ChurnClassifier(n_estimators=30, max_depth=3, n_jobs=1).fit(frame, y.astype(int))
    values, base = model.shap_values(frame)
    reference = model.booster_.predict(model._matrix(frame), pred_contribs=True)
    assert values.shape == (1500, 12) and base.shape == (1500,)
    assert np.abs(values - reference[:, :-1]).max() < 1e-5
    assert np.abs(values.sum(axis=1) + base - model.predict_margin(frame)).max() < 1e-5
