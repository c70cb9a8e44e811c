"""Metrics reported in the model registry."""

import math

import numpy as np

from ml.metrics import classification_report, top_decile_lift


def test_top_decile_lift_of_a_perfect_ranking():
    y = np.array([1] * 10 + [0] * 90)
    score = np.linspace(1, 0, 100)
    assert top_decile_lift(y, score) == 10.0


def test_top_decile_lift_of_a_random_ranking_is_near_one():
    rng = np.random.default_rng(0)
    y = rng.random(20000) < 0.1
    assert abs(top_decile_lift(y, rng.random(20000)) - 1) < 0.15


def test_report_is_nan_not_an_error_when_only_one_class_is_present():
    report = classification_report(np.zeros(10), np.full(10, 0.2))
    assert math.isnan(report["roc_auc"]) and math.isnan(report["pr_auc"])
    assert report["rows"] == 10
