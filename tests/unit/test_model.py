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


def _gpu_present() -> bool:
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def test_device_defaults_to_the_cpu_and_refuses_unknown_names():
    from ml.model import check_device

    assert check_device(None) == "cpu"
    assert check_device(" CPU ") == "cpu"
    with pytest.raises(ValueError, match="use cpu .* or cuda"):
        check_device("gpu0")


def test_cuda_without_cuda_support_says_which_xgboost_to_install(monkeypatch):
    import xgboost as xgb

    from ml.model import check_device

    monkeypatch.setattr(xgb, "build_info", lambda: {"USE_CUDA": False})
    with pytest.raises(RuntimeError, match="built without CUDA"):
        check_device("cuda")


@pytest.mark.skipif(_gpu_present(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_an_error_not_a_silent_cpu_run():
    import xgboost as xgb

    from ml.model import check_device

    if not xgb.build_info().get("USE_CUDA"):
        pytest.skip("this XGBoost has no CUDA support (the other test covers it)")
    with pytest.raises(RuntimeError, match="finds no GPU on this machine"):
        check_device("cuda")


@pytest.mark.skipif(not _gpu_present(), reason="needs an NVIDIA GPU")
def test_on_a_gpu_training_and_shap_run_there_and_agree_with_the_cpu(data):
    from ml.model import check_device

    X, y = data
    assert check_device("cuda") == "cuda"
    on_gpu = ChurnClassifier(n_estimators=50, random_state=1, device="cuda").fit(X, y)
    config = on_gpu.booster_.save_config()
    assert '"device":"cuda' in config.replace(" ", "")
    gpu_values, gpu_base = on_gpu.shap_values(X)  # GPUTreeShap
    cpu = ChurnClassifier.from_bytes(on_gpu.to_bytes())  # loads onto the CPU: treeshap tables
    cpu_values, cpu_base = cpu.shap_values(X)
    np.testing.assert_allclose(gpu_values, cpu_values, atol=1e-5)
    np.testing.assert_allclose(gpu_base, cpu_base, atol=1e-5)
    np.testing.assert_allclose(
        gpu_values.sum(axis=1) + gpu_base, on_gpu.predict_margin(X), atol=1e-4
    )
    back = cpu.use_device("cuda")
    np.testing.assert_allclose(back.shap_values(X)[0], gpu_values, atol=1e-5)
