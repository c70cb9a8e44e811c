"""SHAP benchmark: the project's table-based exact TreeSHAP against XGBoost's pred_contribs.

Trains the project's ChurnClassifier (fixed rounds, no early stopping) at depths 4 and 6 on
a matrix shaped like customer_features_monthly: 66 features, counts and amounts, and missing
values in most rows (lags and windows before a customer's history starts). Then explains the
same rows both ways, side by side in this process, and prints rows per second, the ratio,
and the largest absolute difference, overall and on rows with a missing value. Both sides
run with the same number of threads: 1 (as in a Spark task, one per core) and all cores.

    python bench/shap.py --rows 50000 --trees 300
    python bench/shap.py --device cuda    # also XGBoost's GPUTreeShap, on a machine with a GPU
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.model import ChurnClassifier, check_device  # noqa: E402
from ml.treeshap import PatternTreeExplainer  # noqa: E402

FEATURES = 66


def feature_matrix(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Counts, amounts and ratios; a history-length mask makes lagged features missing."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, FEATURES), dtype=np.float64)
    X[:, :20] = rng.poisson(rng.gamma(2.0, 2.0, (n, 1)), (n, 20))  # monthly counts
    X[:, 20:40] = rng.lognormal(3.0, 1.0, (n, 20))  # amounts
    X[:, 40:66] = rng.normal(0.0, 1.0, (n, 26))  # trends, ratios, indicators
    history = rng.integers(1, 25, n)  # months of history: windows longer are missing
    for j in range(10, 66):
        X[history < (j % 12) + 1, j] = np.nan
    X[rng.random((n, FEATURES)) < 0.02] = np.nan
    margin = 0.4 * np.nan_to_num(X[:, 0]) - 0.3 * np.nan_to_num(X[:, 41]) - 0.02 * history
    y = rng.random(n) < 1 / (1 + np.exp(-(margin - 1)))
    return pd.DataFrame(X, columns=[f"feature_{j:02d}" for j in range(FEATURES)]), y


def rate(seconds: float, rows: int) -> str:
    return f"{rows / seconds:>9,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows to explain")
    parser.add_argument("--trees", type=int, default=300, help="boosting rounds")
    parser.add_argument("--depths", default="4,6", help="tree depths, comma-separated")
    parser.add_argument(
        "--device",
        default="cpu",
        help="cuda: also time XGBoost's GPUTreeShap against the CPU's pred_contribs",
    )
    args = parser.parse_args(argv)
    try:  # before any work: a GPU asked for must be there
        device = check_device(args.device)
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    cores = os.cpu_count() or 1
    train, y = feature_matrix(20_000, 1)
    explain, _ = feature_matrix(args.rows, 2)
    X = explain.to_numpy(dtype=np.float32)
    missing = np.isnan(X).any(axis=1)
    print(f"{args.rows:,} rows x {FEATURES} features, {missing.mean():.0%} with a missing value")
    print(
        f"{'depth':>5} {'threads':>7} {'pred_contribs rows/s':>21} {'tables rows/s':>14} "
        f"{'ratio':>6} {'max |diff|':>11} {'on NaN rows':>12}"
    )
    for depth in [int(d) for d in args.depths.split(",")]:
        model = ChurnClassifier(
            n_estimators=args.trees, max_depth=depth, early_stopping_rounds=None, n_jobs=cores
        ).fit(train, y.astype(int))
        booster = model.booster_
        explainer = PatternTreeExplainer(booster)
        explainer.contributions(X[:256])  # compile (numba caches it on disk afterwards)
        for threads in sorted({1, cores}):
            booster.set_param({"nthread": threads})
            started = time.perf_counter()
            matrix = xgb.DMatrix(X, missing=np.nan, feature_names=list(explain.columns))
            reference = booster.predict(matrix, pred_contribs=True)
            xgb_seconds = time.perf_counter() - started
            started = time.perf_counter()
            ours = explainer.contributions(X, threads=threads)
            our_seconds = time.perf_counter() - started
            diff = np.abs(ours - reference)
            print(
                f"{depth:>5} {threads:>7} {rate(xgb_seconds, len(X)):>21} "
                f"{rate(our_seconds, len(X)):>14} {xgb_seconds / our_seconds:>5.1f}x "
                f"{diff.max():>11.1e} {diff[missing].max():>12.1e}"
            )
        if device != "cpu":  # the last reference is pred_contribs on every core
            booster.set_param({"device": device})
            names = list(explain.columns)
            first = xgb.DMatrix(X[:256], missing=np.nan, feature_names=names)
            booster.predict(first, pred_contribs=True)  # the GPU's first call, not timed
            matrix = xgb.DMatrix(X, missing=np.nan, feature_names=names)
            started = time.perf_counter()
            on_gpu = booster.predict(matrix, pred_contribs=True)
            gpu_seconds = time.perf_counter() - started
            booster.set_param({"device": "cpu"})
            diff = np.abs(on_gpu - reference)
            print(
                f"{depth:>5} {device:>7} {'GPUTreeShap':>21} {rate(gpu_seconds, len(X)):>14} "
                f"{xgb_seconds / gpu_seconds:>5.1f}x {diff.max():>11.1e} "
                f"{diff[missing].max():>12.1e}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
