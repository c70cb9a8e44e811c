"""Exact path-dependent TreeSHAP for XGBoost, with per-leaf tables (numba).

XGBoost's ``pred_contribs`` runs the original TreeSHAP recursion: O(L·D²) per row and tree
(L leaves, depth D). The same values can be had in O(L·D) per row once a small table per
leaf is precomputed (the idea of FastTreeSHAP v2, Yang 2021), because a leaf's part of the
Shapley value depends on the row only through which of its path's features the row
satisfies.

For a leaf with value v whose path splits on the distinct features U (d of them), let z_j be
the product of cover ratios along the path for feature j (the share of training data that
follows the path there) and o_j ∈ {0, 1} whether the row follows the path at every split on
j. With T the set of features with o_j = 1, the leaf contributes to feature i ∈ U

    v · (o_i − z_i) · Σ_{S ⊆ T∖{i}} |S|!(d−|S|−1)!/d! · Π_{j ∈ U∖S∖{i}} z_j,

a number that depends on (T, i) only, so it is tabulated for every subset T of U:
2^d · d numbers per leaf. A path's features are numbered in order of first appearance, so a
node's feature has the same number in every leaf below it, and a row's T for every leaf of a
tree comes from one pass over the tree's nodes (parents before children): at each split the
row either follows a child or clears that feature's bit in the child's subtree. Directions
use XGBoost's float32 ``x < split`` rule, and a missing value takes the split's default
direction (FastTreeSHAP v2 gets this wrong). Rows are processed in blocks, tree by tree, so a
tree's tables stay in cache.

The bias (expected margin) is the same for every row and comes from one XGBoost call.
Models whose tables would exceed ``max_table_entries`` fall back to ``pred_contribs``.
Agreement with ``pred_contribs`` within 1e-5 on every row, rows with missing values
included, is checked by the tests and printed by ``bench/shap.py``.
"""

from __future__ import annotations

import json
from math import factorial

import numba
import numpy as np
import xgboost as xgb


def _read_trees(booster: xgb.Booster) -> list[dict]:
    model = json.loads(booster.save_raw(raw_format="json"))
    trees = model["learner"]["gradient_booster"]["model"]["trees"]
    if any(any(t != 0 for t in tree.get("split_type", [])) for tree in trees):
        raise ValueError("categorical splits are not supported")
    return trees


def _table_entries_bound(tree: dict) -> int:
    """An upper bound of a tree's table size: 2^depth·depth per leaf."""
    left, right = tree["left_children"], tree["right_children"]
    total, stack = 0, [(0, 0)]
    while stack:
        node, depth = stack.pop()
        if left[node] == -1:
            total += (1 << depth) * depth
        else:
            stack.extend([(left[node], depth + 1), (right[node], depth + 1)])
    return total


@numba.njit(cache=True)
def _leaf_table(zero, weights, value):
    """T[mask·d + i] = v·(o_i − z_i)·Σ_{S ⊆ mask∖{i}} w(|S|)·Π_{j ∉ S, j ≠ i} z_j."""
    d = zero.shape[0]
    out = np.zeros((1 << d) * d)
    for mask in range(1 << d):
        for i in range(d):
            allowed = mask & ~(1 << i)
            total = 0.0
            subset = allowed
            while True:  # every subset of `allowed`, the empty one included
                size = 0
                product = 1.0
                for j in range(d):
                    if j == i:
                        continue
                    if subset & (1 << j):
                        size += 1
                    else:
                        product *= zero[j]
                total += weights[size] * product
                if subset == 0:
                    break
                subset = (subset - 1) & allowed
            one = 1.0 if mask & (1 << i) else 0.0
            out[mask * d + i] = value * (one - zero[i]) * total
    return out


class _Tables:
    """Flat arrays over all trees: nodes (parents before children) and per-leaf tables."""

    def __init__(self, trees: list[dict]) -> None:
        node_feature, node_threshold, node_default_left = [], [], []
        node_left, node_right, node_bit = [], [], []
        tree_node_start, leaf_node, leaf_d, tree_leaf_start = [0], [], [], [0]
        leaf_feature_start, feature_index, leaf_table_start, tables = [0], [], [0], []
        for tree in trees:
            left, right = tree["left_children"], tree["right_children"]
            split, condition = tree["split_indices"], tree["split_conditions"]
            cover = tree["sum_hessian"]
            base = tree_node_start[-1]
            n_nodes = len(left)
            bit = [0] * n_nodes
            # parents before children: walk from the root, numbering path features
            order: list[int] = []
            paths: dict[int, tuple[list[int], dict[int, float]]] = {0: ([], {})}
            stack = [0]
            while stack:
                node = stack.pop()
                order.append(node)
                features, zero = paths[node]
                if left[node] == -1:
                    continue
                f = split[node]
                position = features.index(f) if f in features else len(features)
                bit[node] = 1 << position
                for child in (left[node], right[node]):
                    child_features = features if f in features else [*features, f]
                    child_zero = dict(zero)
                    ratio = cover[child] / cover[node] if cover[node] > 0 else 0.0
                    child_zero[f] = child_zero.get(f, 1.0) * ratio
                    paths[child] = (child_features, child_zero)
                    stack.append(child)
            if sorted(order) != list(range(n_nodes)) or any(
                left[n] != -1 and (left[n] <= n or right[n] <= n) for n in range(n_nodes)
            ):
                raise ValueError("unexpected tree layout: children must follow parents")
            for node in range(n_nodes):
                node_feature.append(split[node] if left[node] != -1 else 0)
                node_threshold.append(condition[node])
                node_default_left.append(bool(tree["default_left"][node]))
                node_left.append(base + left[node] if left[node] != -1 else -1)
                node_right.append(base + right[node] if left[node] != -1 else -1)
                node_bit.append(bit[node])
                if left[node] == -1:
                    features, zero = paths[node]
                    z = np.array([zero[f] for f in features], dtype=np.float64)
                    d = len(features)
                    weights = np.array(
                        [factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)]
                    )
                    leaf_node.append(base + node)
                    leaf_d.append(d)
                    feature_index.extend(features)
                    leaf_feature_start.append(len(feature_index))
                    tables.append(_leaf_table(z, weights, float(condition[node])))
                    leaf_table_start.append(leaf_table_start[-1] + (1 << d) * d)
            tree_node_start.append(base + n_nodes)
            tree_leaf_start.append(len(leaf_node))
        i = np.int64
        # in the order _explain takes them
        self.arrays = (
            np.asarray(node_feature, dtype=i),
            np.asarray(node_threshold, dtype=np.float32),
            np.asarray(node_default_left, dtype=np.bool_),
            np.asarray(node_left, dtype=i),
            np.asarray(node_right, dtype=i),
            np.asarray(node_bit, dtype=i),
            np.asarray(tree_node_start, dtype=i),
            np.asarray(leaf_node, dtype=i),
            np.asarray(leaf_d, dtype=i),
            np.asarray(tree_leaf_start, dtype=i),
            np.asarray(leaf_feature_start, dtype=i),
            np.asarray(feature_index, dtype=i),
            np.asarray(leaf_table_start, dtype=i),
            np.concatenate(tables) if tables else np.zeros(0),
        )


@numba.njit(cache=True, parallel=True)
def _explain(
    X,
    node_feature,
    node_threshold,
    node_default_left,
    node_left,
    node_right,
    node_bit,
    tree_node_start,
    leaf_node,
    leaf_d,
    tree_leaf_start,
    leaf_feature_start,
    feature_index,
    leaf_table_start,
    table,
    out,
):
    n = X.shape[0]
    n_trees = tree_node_start.shape[0] - 1
    block = 256  # rows per block: one tree's tables stay in cache for the whole block
    for b in numba.prange((n + block - 1) // block):  # blocks run on numba's threads
        start = b * block
        stop = min(start + block, n)
        cleared = np.zeros(node_feature.shape[0], dtype=np.int64)
        for t in range(n_trees):
            for r in range(start, stop):
                cleared[tree_node_start[t]] = 0
                for node in range(tree_node_start[t], tree_node_start[t + 1]):
                    if node_left[node] < 0:
                        continue
                    value = X[r, node_feature[node]]
                    if np.isnan(value):
                        left = node_default_left[node]
                    else:
                        left = value < node_threshold[node]
                    here = cleared[node]
                    if left:
                        cleared[node_left[node]] = here
                        cleared[node_right[node]] = here | node_bit[node]
                    else:
                        cleared[node_left[node]] = here | node_bit[node]
                        cleared[node_right[node]] = here
                for leaf in range(tree_leaf_start[t], tree_leaf_start[t + 1]):
                    d = leaf_d[leaf]
                    mask = ((1 << d) - 1) & ~cleared[leaf_node[leaf]]
                    f0 = leaf_feature_start[leaf]
                    t0 = leaf_table_start[leaf] + mask * d
                    for i in range(d):
                        out[r, feature_index[f0 + i]] += table[t0 + i]


class PatternTreeExplainer:
    """Exact TreeSHAP of a binary:logistic booster: ``contributions(X)`` equals
    ``booster.predict(DMatrix(X), pred_contribs=True)`` (n x (features + 1), bias last)."""

    def __init__(self, booster: xgb.Booster, max_table_entries: int = 16_000_000) -> None:
        self.booster = booster
        trees = _read_trees(booster)
        if len(trees) != booster.num_boosted_rounds():
            raise ValueError("one tree per round expected (binary objective, no forests)")
        self.max_table_entries = max_table_entries
        # at most 2^d·d numbers per leaf (d <= its depth): 16M numbers = 128 MB by default
        entries = sum(_table_entries_bound(tree) for tree in trees)
        self.tables_ = _Tables(trees) if entries <= max_table_entries else None

    def contributions(self, X: np.ndarray, threads: int = 1) -> np.ndarray:
        """n x (features + 1) contributions, the bias (expected margin) last. ``threads``:
        numba threads (1 inside Spark tasks, which are already one per core)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        n, k = X.shape
        if self.tables_ is None:  # tables too large: XGBoost's own recursion
            matrix = xgb.DMatrix(X, missing=np.nan)
            return self.booster.predict(matrix, pred_contribs=True, validate_features=False)
        out = np.zeros((n, k + 1), dtype=np.float64)
        if n == 0:
            return out
        limit = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        numba.set_num_threads(max(1, min(threads, limit)))
        _explain(X, *self.tables_.arrays, out)  # type: ignore[call-arg]
        bias = self.booster.predict(
            xgb.DMatrix(X[:1], missing=np.nan), pred_contribs=True, validate_features=False
        )
        out[:, k] = bias[0, k]
        return out
