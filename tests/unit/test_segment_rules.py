"""Segments in words: surrogate-tree rules with precision and coverage, and unique names."""

import numpy as np
import pandas as pd

from ml.segment_rules import segment_names, surrogate_rules


def _customers(n=600, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "days_since_last_transaction": rng.integers(0, 200, n).astype(float),
            "transaction_count_to_date": rng.poisson(8, n).astype(float),
            "monthly_fee_total": rng.gamma(2, 5, n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "monthly_fee_total"] = np.nan
    # planted segments: lapsed buyers, high fees, everyone else
    segment = np.where(
        frame["days_since_last_transaction"] > 90,
        0,
        np.where(frame["monthly_fee_total"].fillna(0) > 15, 1, 2),
    )
    shap = pd.DataFrame(
        {
            "days_since_last_transaction": np.where(segment == 0, 1.0, -0.2),
            "transaction_count_to_date": np.where(segment == 2, 0.3, 0.0),
            "monthly_fee_total": np.where(segment == 1, 0.8, -0.1),
        }
    )
    return frame, shap, segment


LABELS = {
    "days_since_last_transaction": "Days since last purchase",
    "transaction_count_to_date": "Transactions to date",
    "monthly_fee_total": "Monthly fees",
}


def test_each_segment_gets_the_rule_that_defines_it():
    frame, _, segment = _customers()
    rules, fidelity = surrogate_rules(frame, segment, LABELS)
    assert set(rules) == {0, 1, 2}
    text = rules[0].rule
    assert text.startswith("Days since last purchase > ") and " and " not in text, text
    assert 90 <= float(text.rsplit("> ", 1)[1]) <= 92
    assert rules[0].precision == 1.0 and rules[0].coverage == 1.0
    assert rules[1].rule.startswith("Days since last purchase <= 9")
    assert rules[1].rule.split(" and ")[1].startswith("Monthly fees > 15")  # unknown: segment 2
    assert fidelity > 0.95


def test_rules_say_where_unknown_values_go_and_stay_honest_about_fidelity():
    frame, _, _ = _customers(seed=1)
    noise = np.random.default_rng(2).integers(0, 3, len(frame))
    rules, fidelity = surrogate_rules(frame, noise, LABELS)
    assert fidelity < 0.6, "segments no feature explains: the tree must not look faithful"
    assert all(0 <= r.precision <= 1 and 0 < r.coverage <= 1 for r in rules.values())
    planted, _, segment = _customers(seed=3)
    texts = [r.rule for r in surrogate_rules(planted, segment, LABELS)[0].values()]
    assert any("(or unknown)" in t for t in texts if "Monthly fees" in t) or all(
        "Monthly fees" not in t for t in texts
    )


def test_names_are_plain_directed_and_unique():
    frame, shap, segment = _customers()
    names = segment_names(frame, shap, segment, LABELS)
    assert names[0].startswith("High days since last purchase")
    assert names[1].startswith("High monthly fees")
    assert len(set(names.values())) == 3


def test_a_name_clash_takes_another_driver_then_the_id():
    frame, shap, _ = _customers()
    same = np.repeat([0, 1], len(frame) // 2)
    shap = shap.assign(days_since_last_transaction=5.0)  # both led by the same driver
    frame = frame.assign(days_since_last_transaction=100.0)
    names = segment_names(frame, shap, same, LABELS, drivers=1)
    assert len(set(names.values())) == 2


def test_a_mostly_zero_count_is_not_called_low_when_medians_tie():
    """Complaints are 0 for most customers: a segment with more complaints shares the
    median of 0 but not the mean, and one that is like everyone is 'typical', not 'low'."""
    n = 300
    frame = pd.DataFrame(
        {"complaints": np.r_[np.zeros(200), np.r_[np.zeros(60), np.full(40, 3.0)]]}
    )
    shap = pd.DataFrame({"complaints": np.full(n, 0.2)})
    segment = np.r_[np.zeros(100, int), np.ones(100, int), np.full(100, 2)]
    names = segment_names(frame, shap, segment, {"complaints": "Complaints"}, drivers=1)
    assert names[2] == "High complaints"
    assert names[0].startswith("Low complaints") or names[0].startswith("Typical complaints")
    assert not names[0].startswith("High")
