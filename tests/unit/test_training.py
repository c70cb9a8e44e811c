"""The training method: baselines, calibration, per-month metrics, promotion and fail-fast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.baselines import RFM_FEATURES, LogisticBaseline
from ml.calibration import MarginCalibrator, select_calibrator
from ml.metrics import expected_calibration_error, reliability_table
from ml.scoring_model import ScoringModel, artifact_from_bytes, artifact_to_bytes
from ml.training import (
    InsufficientLabels,
    TrainingSettings,
    candidate_params,
    check_enough_labels,
    train_churn_model,
)

FAST = TrainingSettings(max_candidates=2, max_rounds=200, early_stopping_rounds=10)


def churn_frame(customers=600, months=9, seed=0, signal=1.5) -> pd.DataFrame:
    """Customer x month rows: churn rises with recency and with a non-RFM feature."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(months):
        recency = rng.exponential(40, customers)
        complaints = rng.poisson(0.5, customers).astype(float)
        logit = -1.0 + 0.02 * recency + signal * (complaints > 1) - 1.0
        rows.append(
            pd.DataFrame(
                {
                    "customer_id": [f"c{i}" for i in range(customers)],
                    "as_of_month": pd.Timestamp("2025-01-01") + pd.DateOffset(months=m),
                    "days_since_last_transaction": np.where(
                        rng.random(customers) < 0.05, np.nan, recency
                    ),
                    "purchase_day_count_to_date": rng.poisson(5, customers).astype(float),
                    "transaction_amount_mean_to_date": rng.lognormal(3, 0.5, customers),
                    "days_since_first_transaction": 100 + recency + rng.exponential(200, customers),
                    "complaints": complaints,
                    "is_churned_within_horizon": rng.random(customers) < 1 / (1 + np.exp(-logit)),
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    month = frame["as_of_month"].dt.month
    frame["dataset_split"] = np.select(
        [month <= 5, month <= 6], ["train", "gap"], default="validation"
    )
    return frame


FEATURES = [*RFM_FEATURES, "complaints"]


@pytest.fixture(scope="module")
def result():
    return train_churn_model(churn_frame(), FEATURES, FAST)


def test_model_with_extra_signal_beats_both_baselines_and_is_promoted(result):
    m = result.metrics
    assert m["model"]["roc_auc"] > m["rfm"]["roc_auc"] >= m["recency"]["roc_auc"] - 0.01
    assert result.is_promoted and result.decision.startswith("promoted")


def test_metrics_are_reported_per_validation_month(result):
    assert [m["as_of_month"] for m in result.by_month] == ["2025-07-01", "2025-08-01", "2025-09-01"]
    assert all(0.5 < m["model_roc_auc"] < 1 and not m["is_flagged"] for m in result.by_month)
    assert sum(m["rows"] for m in result.by_month) == result.rows["validation"]


def test_gap_rows_are_used_only_in_the_refit(result):
    assert result.rows["gap"] == 600
    assert result.rows["refit"] == result.rows["train"] + result.rows["gap"] + 600 * 3


def test_calibrated_probabilities_are_close_to_observed_rates(result):
    assert result.metrics["model"]["ece"] < 0.05
    assert sum(b["rows"] for b in result.reliability) == result.rows["validation"]


def test_artifact_round_trips_both_models():
    frame = churn_frame(customers=200)
    result = train_churn_model(frame, FEATURES, FAST)
    clone = artifact_from_bytes(artifact_to_bytes(result.models))
    for name, model in result.models.items():
        np.testing.assert_allclose(clone[name].predict_proba(frame), model.predict_proba(frame))
        values, base = clone[name].shap_values(frame)
        np.testing.assert_allclose(
            values.sum(axis=1) + base, clone[name].predict_margin(frame), atol=1e-4
        )


def test_too_few_churners_stops_before_anything_is_trained():
    frame = churn_frame(customers=200)
    frame.loc[frame["dataset_split"] == "validation", "is_churned_within_horizon"] = False
    frame.loc[frame.index[-5:], "is_churned_within_horizon"] = True
    with pytest.raises(InsufficientLabels, match="validation window .* 5 churners") as error:
        train_churn_model(frame, FEATURES, FAST)
    for setting in ("churn_horizon_months", "validation_months", "Nothing was registered"):
        assert setting in str(error.value)


def test_label_check_counts_non_churners_too():
    frame = churn_frame(customers=100)
    frame["is_churned_within_horizon"] = True
    with pytest.raises(InsufficientLabels, match="0 non-churners"):
        check_enough_labels(
            frame[frame.dataset_split == "train"], frame[frame.dataset_split == "validation"], 30
        )


def test_a_month_with_one_class_is_flagged_not_averaged():
    frame = churn_frame()
    july = frame["as_of_month"] == pd.Timestamp("2025-07-01")
    frame.loc[july, "is_churned_within_horizon"] = False
    result = train_churn_model(frame, FEATURES, FAST)
    july_report = result.by_month[0]
    assert july_report["is_flagged"] and july_report["model_roc_auc"] is None


def test_search_list_is_deterministic_and_starts_with_the_defaults():
    first = candidate_params(6, random_state=3)
    assert first == candidate_params(6, random_state=3)
    assert first[0] == {
        "max_depth": 4,
        "learning_rate": 0.05,
        "min_child_weight": 5.0,
        "reg_lambda": 1.0,
    }
    assert len({tuple(sorted(c.items())) for c in first}) == 6


def test_same_data_and_seed_train_the_same_model():
    frame = churn_frame(customers=200)
    a = train_churn_model(frame, FEATURES, FAST).models["xgboost"].predict_proba(frame)
    b = train_churn_model(frame, FEATURES, FAST).models["xgboost"].predict_proba(frame)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrators_are_monotone_and_round_trip(method):
    rng = np.random.default_rng(1)
    margin = rng.normal(0, 2, 3000)
    y = rng.random(3000) < 1 / (1 + np.exp(-(0.5 * margin - 1)))
    calibrator = MarginCalibrator(method).fit(margin, y)
    grid = np.linspace(-6, 6, 200)
    assert np.all(np.diff(calibrator.transform(grid)) >= 0)
    clone = MarginCalibrator.from_dict(calibrator.to_dict())
    np.testing.assert_allclose(clone.transform(grid), calibrator.transform(grid))


def test_calibration_fixes_an_overconfident_margin():
    rng = np.random.default_rng(2)
    margin = rng.normal(0, 3, 5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-margin / 3))).astype(int)
    raw = 1 / (1 + np.exp(-margin))
    groups = np.arange(5000) % 500
    _, calibrated, scores = select_calibrator(margin, y, groups)
    assert expected_calibration_error(y, calibrated) < 0.5 * expected_calibration_error(y, raw)
    assert set(scores) == {"platt", "isotonic"}


def test_reliability_table_has_ten_bins_covering_every_row():
    table = reliability_table(np.array([0, 1, 1, 0]), np.array([0.05, 0.95, 0.99, 0.5]))
    assert len(table) == 10 and sum(b["rows"] for b in table) == 4
    assert table[9]["rows"] == 2 and table[9]["observed_rate"] == 1.0


def test_rfm_baseline_explains_its_margin_exactly_with_missing_values():
    frame = churn_frame(customers=300, months=2)
    y = frame["is_churned_within_horizon"].astype(int)
    baseline = LogisticBaseline().fit(frame, y)
    values, base = baseline.shap_values(frame)
    assert values.shape == (len(frame), len(RFM_FEATURES))
    np.testing.assert_allclose(values.sum(axis=1) + base, baseline.predict_margin(frame))
    assert baseline.predict_proba(frame).shape == (len(frame), 2)
    model = ScoringModel(baseline, None, "rfm_logistic_regression")
    clone = ScoringModel.from_bytes(model.to_bytes())
    np.testing.assert_allclose(clone.predict_proba(frame), model.predict_proba(frame))


def test_sample_fingerprint_changes_with_any_value_and_with_the_draw():
    """The model version hashes the bounded sample training sees (ml.spark_jobs)."""
    from ml.spark_jobs import sample_fingerprint

    frame = pd.DataFrame(
        {"customer_id": ["a", "b"], "x": [1.0, np.nan], "as_of_month": ["2024-01", "2024-01"]}
    )
    same = sample_fingerprint(frame.copy(), 10, 0.2)
    assert sample_fingerprint(frame, 10, 0.2) == same
    changed = frame.copy()
    changed.loc[1, "x"] = 0.0
    assert sample_fingerprint(changed, 10, 0.2) != same
    assert sample_fingerprint(frame, 11, 0.2) != same
    assert sample_fingerprint(frame, 10, 0.3) != same
    assert sample_fingerprint(frame.rename(columns={"x": "y"}), 10, 0.2) != same
