"""GET /customers/{customer_id}: a customer's churn score, drivers and segment."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Path, status
from fastapi.responses import JSONResponse

from serving.api.deps import SnapshotDep
from serving.api.schemas import CustomerScore, Driver, ErrorMessage, NotScored, Segment

router = APIRouter(prefix="/customers", tags=["customers"])

# any id ingestion accepts (a trimmed non-empty string), URL-encoded where needed; `path`
# keeps an encoded slash inside the id
CustomerId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=1024,
        description="Customer id as in the customer master, URL-encoded, e.g. C0000042",
    ),
]


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _utc(value) -> datetime | None:
    """A published timestamp (UTC, stored without an offset) as a timezone-aware one."""
    if not _present(value) or value is pd.NaT:
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def _drivers(published) -> list[dict]:
    """The published top_drivers array (strongest first); none when the customer has none."""
    if published is None or (isinstance(published, float) and math.isnan(published)):
        return []
    return sorted(published, key=lambda driver: driver["driver_rank"])


@router.get(
    "/{customer_id:path}",
    response_model=CustomerScore,
    responses={
        404: {
            "model": NotScored,
            "description": "No score: an unknown id, or a known customer with the reason why",
        },
        401: {"model": ErrorMessage, "description": "No API key, or one that is not valid"},
        422: {"description": "The customer id is empty or longer than 1,024 characters"},
        429: {"model": ErrorMessage, "description": "Rate limit reached; see Retry-After"},
        503: {"model": ErrorMessage, "description": "Nothing has been published yet"},
    },
)
async def read_customer(customer_id: CustomerId, snapshot: SnapshotDep):
    """Score, risk band, top drivers, segment, model version and as-of date."""
    customers = snapshot.customers
    if customer_id not in customers.index:
        return _not_scored(customer_id, snapshot)
    row = customers.loc[customer_id]
    drivers = [
        Driver(
            feature=driver["feature_name"],
            description=driver["feature_description"],
            feature_value=driver["feature_value"] if _present(driver["feature_value"]) else None,
            shap_value=float(driver["shap_value"]),
        )
        for driver in _drivers(row["top_drivers"])
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
        scored_at=_utc(row["scored_at"]),
    )


def _not_scored(customer_id: str, snapshot) -> JSONResponse:
    """404 that tells an unknown id apart from a known customer without a score."""
    as_of = snapshot.manifest.get("as_of_month")
    if customer_id in snapshot.coverage.index:
        known = snapshot.coverage.loc[customer_id]
        body = NotScored(
            detail=f"customer {customer_id[:64]!r} has no churn score as of {as_of}: "
            f"{known['unscored_reason_description']}",
            reason=known["unscored_reason"],
        )
    else:
        body = NotScored(
            detail=f"customer {customer_id[:64]!r} is not in the customer master published as of "
            f"{as_of}: check the id",
            reason="unknown_customer",
        )
    return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content=body.model_dump())
