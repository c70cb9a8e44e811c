"""ChurnClassifier: learns, explains exactly, round-trips, and refuses bad training data."""

import numpy as np
import pandas as pd
import pytest

from ml.model import ChurnClassifier


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(600, 4)), columns=["a", "b", "c", "d"])
    X.loc[rng.random(600) < 0.1, "c"] = np.nan  # XGBoost handles missing values
    y = (X["a"] + 0.5 * X["b"].fillna(0) + rng.normal(0, 0.5, 600) > 1).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return ChurnClassifier(n_estimators=50, random_state=1).fit(X, y)


def test_learns_the_signal(fitted, data):
    from ml.metrics import classification_report

    X, y = data
    assert classification_report(y, fitted.predict_proba(X))["roc_auc"] > 0.9


def test_shap_values_add_up_to_the_margin(fitted, data):
    X, _ = data
    values, base = fitted.shap_values(X)
    assert values.shape == X.shape
    np.testing.assert_allclose(values.sum(axis=1) + base, fitted.predict_margin(X), atol=1e-4)


def test_strongest_feature_gets_the_largest_attributions(fitted, data):
    X, _ = data
    values, _ = fitted.shap_values(X)
    assert np.abs(values).mean(axis=0).argmax() == list(X.columns).index("a")


def test_serialised_model_predicts_the_same(fitted, data):
    X, _ = data
    clone = ChurnClassifier.from_bytes(fitted.to_bytes())
    assert clone.feature_names_ == fitted.feature_names_
    np.testing.assert_array_equal(clone.predict_proba(X), fitted.predict_proba(X))


def test_same_random_state_gives_the_same_model(data):
    X, y = data
    first = ChurnClassifier(n_estimators=20, random_state=5).fit(X, y).predict_proba(X)
    second = ChurnClassifier(n_estimators=20, random_state=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)


def test_single_class_labels_are_refused_with_advice(data):
    X, _ = data
    with pytest.raises(ValueError, match="single class.*churn_horizon_months"):
        ChurnClassifier().fit(X, np.zeros(len(X)))


def test_missing_feature_columns_are_named(fitted, data):
    X, _ = data
    with pytest.raises(KeyError, match="missing from input: d"):
        fitted.predict_proba(X.drop(columns="d"))
