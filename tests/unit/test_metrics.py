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


def test_curve_points_trace_the_same_ranking_as_roc_auc():
    from sklearn.metrics import roc_auc_score

    from ml.metrics import curve_points

    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.2).astype(int)
    score = y + rng.random(2000)
    points = curve_points(y, score)
    assert len(points["tpr"]) == 101 and points["share_contacted"][-1] == 1.0
    assert points["tpr"][-1] == 1.0 and points["fpr"][-1] == 1.0 and points["precision"][0] is None
    area = np.trapezoid(points["tpr"], points["fpr"])
    assert abs(area - roc_auc_score(y, score)) < 0.01
