"""GET /model: the champion's card: what it was trained on and how it did out of time."""

from __future__ import annotations

import math

import pandas as pd
from fastapi import APIRouter, HTTPException, status

from serving.api.deps import SnapshotDep
from serving.api.routes.customers import AUTH_ERRORS
from serving.api.schemas import FeatureDescription, ModelCard, MonthlyMetrics

router = APIRouter(prefix="/model", tags=["model"])


def _num(value) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    return float(value)


def _plain(value):
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


@router.get("", response_model=ModelCard, responses=AUTH_ERRORS)
async def read_model(snapshot: SnapshotDep) -> ModelCard:
    """The model that scored the published customers: training and validation months,
    metrics per out-of-time month next to the baselines, calibration, and its features."""
    model = snapshot.current_model
    if not model:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"version {snapshot.version} names no model: run `propensity run` again",
        )
    version = model["model_version"]
    validation = snapshot.validation
    months = (
        validation[validation["model_version"] == version].sort_values("as_of_month")
        if not validation.empty
        else validation
    )
    features = snapshot.features
    if not features.empty and "is_model_input" in features:
        features = features[features["is_model_input"].fillna(False).astype(bool)]
    trained_at = _plain(model.get("trained_at"))
    return ModelCard(
        model_version=version,
        algorithm=_plain(model.get("scoring_algorithm") or model.get("algorithm")),
        churn_definition=_plain(model.get("churn_definition")),
        horizon_months=_plain(model.get("horizon_months")),
        promotion_decision=_plain(model.get("promotion_decision")),
        train_start_month=_plain(model.get("train_start_month")),
        train_end_month=_plain(model.get("train_end_month")),
        validation_start_month=_plain(model.get("validation_start_month")),
        validation_end_month=_plain(model.get("validation_end_month")),
        training_rows=_plain(model.get("training_rows")),
        validation_rows=_plain(model.get("validation_rows")),
        metrics={
            name: _num(model.get(name))
            for name in ("roc_auc", "pr_auc", "log_loss", "top_decile_lift")
        },
        baselines={
            "recency_roc_auc": _num(model.get("recency_roc_auc")),
            "rfm_roc_auc": _num(model.get("rfm_roc_auc")),
        },
        calibration={"expected_calibration_error": _num(model.get("expected_calibration_error"))},
        validation_by_month=[
            MonthlyMetrics(
                as_of_month=row["as_of_month"],
                validation_rows=int(row["validation_rows"]),
                churners=int(row["churners"]),
                model_roc_auc=_num(row.get("model_roc_auc")),
                rfm_roc_auc=_num(row.get("rfm_roc_auc")),
                recency_roc_auc=_num(row.get("recency_roc_auc")),
                model_pr_auc=_num(row.get("model_pr_auc")),
                model_log_loss=_num(row.get("model_log_loss")),
                is_flagged_one_class_only=bool(row.get("is_flagged_one_class_only") or False),
            )
            for row in months.to_dict("records")
        ],
        features=[
            FeatureDescription(
                name=row["feature_name"],
                label=_plain(row.get("feature_label")),
                description=_plain(row.get("feature_description")),
                group=_plain(row.get("feature_group")),
            )
            for row in features.to_dict("records")
        ],
        trained_at=(
            pd.Timestamp(trained_at).tz_localize("UTC").to_pydatetime()
            if trained_at is not None and pd.Timestamp(trained_at).tzinfo is None
            else trained_at
        ),
    )
