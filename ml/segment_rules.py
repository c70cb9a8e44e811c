"""Segments in words: a readable rule per segment from a surrogate tree, and a unique name.

Segments are found in SHAP space, which no business user reads. Two translations back to
the customers' own feature values:

* **Rules.** A shallow decision tree (the surrogate) learns to predict the segment from the
  original feature values (unknown values allowed: scikit-learn's trees route them). Each
  segment's rule is the path to the leaf that holds most of its customers, e.g. "Days since
  last purchase > 60 and Transactions to date <= 2.5", with its precision (share of the
  leaf's customers in the segment) and coverage (share of the segment's customers in the
  leaf). The tree's fidelity is the share of customers it puts in their own segment,
  cross-validated, so a rule is never read as more faithful than it is.
* **Names.** From the segment's strongest drivers (highest mean SHAP value: what pushes its
  customers' churn up) and the way its customers differ on them: "High monthly fees and low
  satisfaction this month". Names are unique within a build.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SegmentRule:
    """One segment's readable rule and how well it describes the segment."""

    rule: str
    precision: float
    coverage: float


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.4g}"


def surrogate_rules(
    features: pd.DataFrame,
    segments: np.ndarray,
    labels: dict[str, str] | None = None,
    max_depth: int = 3,
    random_state: int = 42,
) -> tuple[dict[int, SegmentRule], float]:
    """A rule per segment from a shallow tree on the feature values, and the tree's
    cross-validated fidelity (share of rows it assigns to their own segment)."""
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    labels = labels or {}
    X = features.astype(float)
    y = np.asarray(segments, dtype=int)
    tree = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=max(5, len(X) // 200), random_state=random_state
    )
    _, sizes = np.unique(y, return_counts=True)
    folds = min(5, int(sizes.min()))  # stratified: every fold needs every segment
    fidelity = (
        float(cross_val_score(tree, X, y, cv=folds).mean())
        if len(sizes) >= 2 and folds >= 2
        else 1.0  # a single segment: the tree cannot be wrong
    )
    tree.fit(X, y)
    leaves = tree.apply(X)
    structure = tree.tree_
    # scikit-learn sends unknown values one way at every split; it matters only for features
    # that have unknown values
    has_unknown = {name for name in X.columns if X[name].isna().any()}
    paths = _leaf_paths(structure, list(X.columns), labels, has_unknown)
    rules = {}
    for segment in np.unique(y):
        members = y == segment
        best = max(
            np.unique(leaves[members]),
            key=lambda leaf: (int((leaves[members] == leaf).sum()), -int(leaf)),
        )
        in_leaf = leaves == best
        precision = float((y[in_leaf] == segment).mean())
        coverage = float((leaves[members] == best).mean())
        text = " and ".join(paths[best]) or "all customers"
        rules[int(segment)] = SegmentRule(text, precision, coverage)
    return rules, fidelity


def _leaf_paths(
    structure, names: list[str], labels: dict[str, str], has_unknown: set[str]
) -> dict[int, list[str]]:
    """Each leaf's conditions, merged per feature and direction (x <= 5 and x <= 3: x <= 3)."""
    missing_left = getattr(structure, "missing_go_to_left", None)
    paths: dict[int, list[str]] = {}

    def walk(node: int, bounds: dict) -> None:
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:  # a leaf
            paths[node] = [_condition(name, bound, labels) for name, bound in bounds.items()]
            return
        name = names[structure.feature[node]]
        threshold = float(structure.threshold[node])
        unknown_left = bool(missing_left[node]) if missing_left is not None else False
        for child, side in ((left, "le"), (right, "gt")):
            bound = dict(bounds.get(name, {}))
            if side == "le":
                bound["le"] = min(bound.get("le", np.inf), threshold)
            else:
                bound["gt"] = max(bound.get("gt", -np.inf), threshold)
            # unknown values follow one side: say so only on that side's first condition
            if name in has_unknown:
                bound.setdefault("unknown", unknown_left if side == "le" else not unknown_left)
            walk(child, {**bounds, name: bound})

    walk(0, {})
    return paths


def _condition(name: str, bound: dict, labels: dict[str, str]) -> str:
    label = labels.get(name, name)
    parts = []
    if "gt" in bound and "le" in bound:
        parts.append(f"{label} between {_number(bound['gt'])} and {_number(bound['le'])}")
    elif "gt" in bound:
        parts.append(f"{label} > {_number(bound['gt'])}")
    else:
        parts.append(f"{label} <= {_number(bound['le'])}")
    if bound.get("unknown"):
        parts.append("(or unknown)")
    return " ".join(parts)


def segment_names(
    features: pd.DataFrame,
    shap: pd.DataFrame,
    segments: np.ndarray,
    labels: dict[str, str] | None = None,
    drivers: int = 2,
) -> dict[int, str]:
    """A unique plain-language name per segment from its strongest drivers and whether its
    customers' values are high or low on them (against everyone's median)."""
    labels = labels or {}
    y = np.asarray(segments, dtype=int)
    overall = features.median(numeric_only=True)
    overall_mean = features.mean(numeric_only=True)
    candidates: dict[int, list[str]] = {}
    for segment in np.unique(y):
        members = y == segment
        mean_shap = shap[members].mean().sort_values(ascending=False, kind="stable")
        words = []
        for name in mean_shap.index[: drivers + 2]:
            values = features.loc[members, name]
            label = labels.get(name, name)
            label = label[:1].lower() + label[1:]
            if values.isna().mean() > 0.5:
                words.append(f"unknown {label}")
            else:
                words.append(f"{_level(values, overall.get(name), overall_mean.get(name))} {label}")
        candidates[int(segment)] = words
    names: dict[int, str] = {}
    used: set[str] = set()
    # the largest segments name themselves first; a clash takes one more driver, then the id
    order = sorted(candidates, key=lambda s: (-int((y == s).sum()), s))
    for segment in order:
        words = candidates[segment]
        name = None
        for count in range(min(drivers, len(words)), len(words) + 1):
            attempt = " and ".join(words[:count])
            attempt = attempt[:1].upper() + attempt[1:]
            if attempt not in used:
                name = attempt
                break
        if name is None:
            name = f"{' and '.join(words[:drivers])} (segment {segment})"
            name = name[:1].upper() + name[1:]
        used.add(name)
        names[segment] = name
    return names


def _level(values: pd.Series, overall_median, overall_mean) -> str:
    """high, low or typical against everyone: by the median, and by the mean where the
    medians tie (counts that are mostly zero share a median of 0)."""
    for mine, theirs in ((values.median(), overall_median), (values.mean(), overall_mean)):
        if theirs is None or pd.isna(mine) or pd.isna(theirs):
            continue
        scale = max(abs(float(theirs)), 1e-9)
        if abs(float(mine) - float(theirs)) > 0.05 * scale:
            return "high" if mine > theirs else "low"
    return "typical"


def keep_names(generated: dict[int, str], previous: dict[int, str]) -> dict[int, str]:
    """Segment names across builds: a segment that persists (its id was used before) keeps
    its previous name; a new one takes its generated name, with its id added if a kept name
    already reads the same. Names stay unique."""
    names = {sid: previous[sid] for sid in generated if sid in previous}
    used = set(names.values())
    for sid in sorted(generated):
        if sid in names:
            continue
        name = generated[sid]
        if name in used:
            name = f"{name} (segment {sid})"
        names[sid] = name
        used.add(name)
    return names
