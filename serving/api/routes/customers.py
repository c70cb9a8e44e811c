"""GET /customers/{customer_id}: a customer's churn score, drivers and segment."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from serving.api.deps import SettingsDep, SnapshotDep
from serving.api.schemas import CustomerScore, Driver, ErrorMessage, Segment

router = APIRouter(prefix="/customers", tags=["customers"])

CustomerId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="Customer id as in the customer master, e.g. C0000042",
    ),
]


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


@router.get(
    "/{customer_id}",
    response_model=CustomerScore,
    responses={
        404: {"model": ErrorMessage, "description": "No score for this customer id"},
        422: {"description": "The customer id is not well formed"},
        503: {"model": ErrorMessage, "description": "Nothing has been published yet"},
    },
)
def read_customer(customer_id: CustomerId, snapshot: SnapshotDep, settings: SettingsDep):
    """Score, risk band, top drivers, segment, model version and as-of date."""
    customers = snapshot.customers
    if customer_id not in customers.index:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=(
                f"customer {customer_id!r} has no churn score as of "
                f"{snapshot.manifest['as_of_month']}: the id is unknown, or the customer was "
                "not active at the end of that month (churned customers are not scored)"
            ),
        )
    row = customers.loc[customer_id]
    drivers = [
        Driver(
            feature=row[f"top_driver_{rank}_feature"],
            description=row[f"top_driver_{rank}_description"],
            shap_value=float(row[f"top_driver_{rank}_shap_value"]),
        )
        for rank in range(1, settings.top_drivers + 1)
        if _present(row[f"top_driver_{rank}_feature"])
    ]
    segment = (
        Segment(segment_id=int(row["segment_id"]), name=row["segment_name"])
        if _present(row["segment_id"])
        else None
    )
    return CustomerScore(
        customer_id=customer_id,
        churn_probability=float(row["churn_probability"]),
        score_percentile=int(row["score_percentile"]),
        risk_band=row["risk_band"],
        top_drivers=drivers,
        segment=segment,
        model_version=row["model_version"],
        as_of_month=row["as_of_month"],
        scored_at=row["scored_at"] if _present(row["scored_at"]) else None,
    )
