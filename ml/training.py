"""Train, compare and calibrate the churn model: the method, as a paper would state it.

Data. ``churn_training_set`` rows are customer x as_of_month with a known label, split out of
time: ``train`` months, then a ``gap`` of H - 1 months, then the ``validation`` months, so no
training label reads the validation period.

Method.
1. Refuse to train when either window has fewer than ``min_positives`` churners: metrics on
   a handful of positives are noise, and nothing is written.
2. Search: a bounded, deterministic list of XGBoost settings (depth, learning rate,
   min_child_weight, L2), each fitted on ``train`` with early stopping on ``validation``; the
   best validation ROC AUC wins. The list is cut short when ``search_budget_seconds`` is spent.
3. Baselines on the same rows: the recency rule and the RFM logistic regression, fitted on
   ``train`` and scored on ``validation``.
4. Calibration: Platt or isotonic on the validation margins, chosen by cross-fitted log loss
   (grouped by customer); calibrated metrics and ECE are the cross-fitted ones.
5. Metrics pooled and per validation month; a month without both classes is flagged and
   left out of the per-month mean.
6. Promotion: the model is promoted only if its validation ROC AUC beats the RFM baseline's.
7. Refit: the chosen settings, with the early-stopped number of trees, are refitted on every
   labelled row (train, gap and validation); that model, with the calibrator of step 4,
   scores today. The RFM regression is refitted the same way as the fallback.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.baselines import RECENCY_FEATURES, RFM_FEATURES, LogisticBaseline
from ml.calibration import select_calibrator
from ml.metrics import (
    curve_points,
    expected_calibration_error,
    ranking_report,
    reliability_table,
)
from ml.model import ChurnClassifier
from ml.scoring_model import RFM_LOGISTIC_REGRESSION, XGBOOST, ScoringModel

log = logging.getLogger(__name__)

LABEL = "is_churned_within_horizon"
SPLIT = "dataset_split"
MONTH = "as_of_month"
GROUP = "customer_id"
BASE_PARAMS = {"max_depth": 4, "learning_rate": 0.05, "min_child_weight": 5.0, "reg_lambda": 1.0}
GRID = {
    "max_depth": [3, 4, 6],
    "learning_rate": [0.05, 0.1],
    "min_child_weight": [1.0, 5.0, 20.0],
    "reg_lambda": [1.0, 10.0],
}


class InsufficientLabels(ValueError):
    """Too few churners (or non-churners) to train or to validate honestly."""


@dataclass(frozen=True)
class TrainingSettings:
    """Knobs of one training run (dbt model config of churn_model_registry)."""

    min_positives: int = 30
    max_candidates: int = 6
    search_budget_seconds: float = 300.0
    early_stopping_rounds: int = 30
    max_rounds: int = 1000
    calibration_folds: int = 5
    random_state: int = 42
    # cpu, or cuda to train on a GPU (ml.model.check_device); not part of the fingerprint:
    # the registry adds it to the version's settings when it is not the CPU
    device: str = "cpu"

    def fingerprint(self) -> dict:
        """What changes the trained model (the time budget only cuts the list short)."""
        return {
            "max_candidates": self.max_candidates,
            "early_stopping_rounds": self.early_stopping_rounds,
            "max_rounds": self.max_rounds,
            "calibration_folds": self.calibration_folds,
            "random_state": self.random_state,
        }


@dataclass
class TrainingResult:
    """Everything a training run produced: the models that may score, and the evidence."""

    models: dict[str, ScoringModel]
    params: dict
    best_iteration: int
    metrics: dict[str, dict]
    by_month: list[dict]
    reliability: list[dict]
    search: list[dict]
    calibration: dict
    is_promoted: bool
    decision: str
    rows: dict[str, int] = field(default_factory=dict)
    # ROC, precision-recall and gains points on the validation window, per model
    curves: dict[str, dict] = field(default_factory=dict)


def candidate_params(max_candidates: int, random_state: int) -> list[dict]:
    """The search list: the default settings first, then a seeded shuffle of the grid."""
    keys = list(GRID)
    grid = [dict(zip(keys, values, strict=True)) for values in _product(*GRID.values())]
    grid = [g for g in grid if g != BASE_PARAMS]
    order = np.random.default_rng(random_state).permutation(len(grid))
    return [dict(BASE_PARAMS), *[grid[i] for i in order]][: max(1, max_candidates)]


def _product(*lists):
    if not lists:
        yield ()
        return
    for head in lists[0]:
        for tail in _product(*lists[1:]):
            yield (head, *tail)


def check_label_counts(counts: dict[str, tuple[int, int]], min_positives: int) -> None:
    """Raise InsufficientLabels, naming the settings to change, when the training or the
    validation window has fewer than ``min_positives`` churners or non-churners.
    ``counts`` maps a split to (rows, churners)."""
    problems = []
    for split, name in (("train", "training"), ("validation", "validation")):
        rows, positives = counts.get(split, (0, 0))
        negatives = rows - positives
        if positives < min_positives or negatives < min_positives:
            problems.append(
                f"the {name} window has {rows:,} rows with {positives:,} churners and "
                f"{negatives:,} non-churners (need at least {min_positives} of each)"
            )
    if problems:
        raise InsufficientLabels(
            "not training: "
            + "; ".join(problems)
            + ". Nothing was registered or written. Load more months of history, or change "
            "the dbt vars churn_horizon_months (a longer horizon has more churners) or "
            "validation_months (more months to validate on), e.g. "
            "`propensity run --vars '{validation_months: 6}'`; the threshold is the var "
            "min_positives."
        )


def check_enough_labels(train: pd.DataFrame, valid: pd.DataFrame, min_positives: int) -> None:
    """``check_label_counts`` on collected frames."""
    check_label_counts(
        {
            "train": (len(train), int(train[LABEL].sum())),
            "validation": (len(valid), int(valid[LABEL].sum())),
        },
        min_positives,
    )


def _labels(rows: pd.DataFrame) -> np.ndarray:
    return rows[LABEL].astype(int).to_numpy()


def _report(y: np.ndarray, margin: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    report = ranking_report(y, margin)
    clipped = np.clip(probability, 1e-7, 1 - 1e-7)
    report["log_loss"] = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    report["ece"] = expected_calibration_error(y, probability)
    report["positive_rate"] = float(y.mean()) if len(y) else float("nan")
    report["rows"] = int(len(y))
    return report


def _by_month(valid: pd.DataFrame, scores: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[dict]:
    months = []
    for month, rows in valid.groupby(MONTH, sort=True):
        position = valid.index.get_indexer(rows.index)
        y = _labels(rows)
        positives = int(y.sum())
        entry = {
            "as_of_month": str(pd.Timestamp(month).date()),
            "rows": int(len(y)),
            "positives": positives,
            "is_flagged": positives == 0 or positives == len(y),
        }
        for name, (margin, probability) in scores.items():
            report = _report(y, margin[position], probability[position])
            entry[f"{name}_roc_auc"] = None if entry["is_flagged"] else report["roc_auc"]
            entry[f"{name}_pr_auc"] = None if entry["is_flagged"] else report["pr_auc"]
            entry[f"{name}_log_loss"] = report["log_loss"]
        months.append(entry)
    return months


def train_churn_model(
    frame: pd.DataFrame, features: list[str], settings: TrainingSettings | None = None
) -> TrainingResult:
    """Run the method above on a collected training frame."""
    settings = settings or TrainingSettings()
    frame = frame.reset_index(drop=True)
    train = frame[frame[SPLIT] == "train"]
    valid = frame[frame[SPLIT] == "validation"].reset_index(drop=True)
    if train.empty or valid.empty:
        raise InsufficientLabels(
            f"need both train and validation rows, got {len(train):,} train and "
            f"{len(valid):,} validation: load more months of history, or lower "
            "churn_horizon_months or validation_months"
        )
    check_enough_labels(train, valid, settings.min_positives)
    y_train, y_valid = _labels(train), _labels(valid)
    rfm_features = [f for f in RFM_FEATURES if f in frame.columns]

    # 2. bounded, deterministic search with early stopping on the validation window
    started = time.monotonic()
    search, best = [], None
    candidates = candidate_params(settings.max_candidates, settings.random_state)
    for number, params in enumerate(candidates, start=1):
        elapsed = time.monotonic() - started
        if number > 1 and elapsed > settings.search_budget_seconds:
            log.warning(
                "search budget of %.0fs spent after %d of %d settings; the rest are skipped",
                settings.search_budget_seconds,
                number - 1,
                len(candidates),
            )
            break
        model = ChurnClassifier(
            **params,
            n_estimators=settings.max_rounds,
            early_stopping_rounds=settings.early_stopping_rounds,
            random_state=settings.random_state,
            device=settings.device,
        ).fit(train[features], y_train, eval_set=(valid[features], y_valid))
        margin = model.predict_margin(valid[features])
        auc = ranking_report(y_valid, margin)["roc_auc"]
        search.append({**params, "trees": model.best_iteration_ + 1, "validation_roc_auc": auc})
        log.info(
            "search %d/%d %s: %d trees, validation ROC AUC %.4f",
            number,
            len(candidates),
            params,
            model.best_iteration_ + 1,
            auc,
        )
        if best is None or auc > best[0]:
            best = (auc, params, model, margin)
    assert best is not None, "the search evaluated no candidate"
    _, best_params, selected, valid_margin = best

    # 3. baselines on the same rows
    baselines = {
        "recency": LogisticBaseline(RECENCY_FEATURES).fit(train, y_train),
        "rfm": LogisticBaseline(tuple(rfm_features)).fit(train, y_train),
    }
    # 4. calibration, cross-fitted on the validation window
    calibrator, valid_probability, method_log_loss = select_calibrator(
        valid_margin, y_valid, valid[GROUP].to_numpy(), settings.calibration_folds
    )
    scores = {"model": (valid_margin, valid_probability)}
    for name, baseline in baselines.items():
        margin = baseline.predict_margin(valid)
        scores[name] = (margin, 1.0 / (1.0 + np.exp(-margin)))
    metrics = {name: _report(y_valid, *pair) for name, pair in scores.items()}
    train_margin = selected.predict_margin(train[features])
    metrics["train"] = _report(y_train, train_margin, 1.0 / (1.0 + np.exp(-train_margin)))

    # 6. promotion
    model_auc, rfm_auc = metrics["model"]["roc_auc"], metrics["rfm"]["roc_auc"]
    is_promoted = bool(model_auc > rfm_auc)
    decision = (
        f"promoted: XGBoost validation ROC AUC {model_auc:.4f} beats the RFM logistic "
        f"regression's {rfm_auc:.4f}"
        if is_promoted
        else f"not promoted: XGBoost validation ROC AUC {model_auc:.4f} does not beat the RFM "
        f"logistic regression's {rfm_auc:.4f}"
    )

    # 7. refit on every labelled row for scoring today
    labelled = frame[frame[SPLIT].isin(["train", "gap", "validation"])]
    y_all = _labels(labelled)
    final = ChurnClassifier(
        **best_params,
        n_estimators=selected.best_iteration_ + 1,
        random_state=settings.random_state,
        device=settings.device,
    ).fit(labelled[features], y_all)
    fallback = LogisticBaseline(tuple(rfm_features)).fit(labelled, y_all)
    return TrainingResult(
        models={
            XGBOOST: ScoringModel(final, calibrator, XGBOOST),
            RFM_LOGISTIC_REGRESSION: ScoringModel(fallback, None, RFM_LOGISTIC_REGRESSION),
        },
        params=best_params,
        best_iteration=selected.best_iteration_,
        metrics=metrics,
        by_month=_by_month(valid, scores),
        reliability=reliability_table(y_valid, valid_probability),
        search=search,
        calibration={"method": calibrator.method, "cross_fitted_log_loss": method_log_loss},
        is_promoted=is_promoted,
        decision=decision,
        rows={
            "train": len(train),
            "gap": int((frame[SPLIT] == "gap").sum()),
            "validation": len(valid),
            "refit": len(labelled),
        },
        curves={name: curve_points(y_valid, pair[1]) for name, pair in scores.items()},
    )


def artifact_metadata(result: TrainingResult, features: list[str], **identity) -> dict:
    """What a model artifact records next to the models: ``identity`` (version, churn
    definition, horizon, fingerprints, decision, when) and the evidence of ``result``."""
    return {
        **identity,
        "features": features,
        "params": result.params,
        "trees": result.best_iteration + 1,
        "rows": result.rows,
        "metrics": result.metrics,
        "validation_metrics_by_month": result.by_month,
        "reliability_table": result.reliability,
        "validation_curves": result.curves,
        "search": result.search,
        "calibration": result.calibration,
        "is_promoted": result.is_promoted,
    }
