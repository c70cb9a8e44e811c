"""GET /segments and GET /segments/{segment_id}: who the segments are and why they churn."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from serving.api.deps import SnapshotDep
from serving.api.routes.customers import AUTH_ERRORS
from serving.api.schemas import ErrorMessage, SegmentProfile

router = APIRouter(prefix="/segments", tags=["segments"])


def _value(row: dict, name: str):
    value = row.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _count(value) -> int | None:
    return None if value is None else int(value)


def _drivers(text) -> list[str]:
    """The published drivers: a '; '-separated text, strongest first."""
    if not isinstance(text, str):
        return list(text) if text is not None and not isinstance(text, float) else []
    return [part.strip() for part in text.split(";") if part.strip()]


def profile(row: dict) -> SegmentProfile:
    """One published segment profile row as the API's model."""
    return SegmentProfile(
        segment_id=int(row["segment_id"]),
        name=row["segment_name"],
        customer_count=int(row["customer_count"]),
        customer_share=float(row["customer_share"]),
        expected_churn_rate=float(row["expected_churn_rate"]),
        observed_churn_rate=_value(row, "observed_churn_rate"),
        observed_churn_basis=_value(row, "observed_churn_basis"),
        high_risk_share=_value(row, "high_risk_share"),
        top_drivers=_drivers(row.get("top_drivers")),
        rule=_value(row, "segment_rule"),
        rule_precision=_value(row, "rule_precision"),
        rule_coverage=_value(row, "rule_coverage"),
        is_new_segment=_value(row, "is_new_segment"),
        held_customer_count=_count(_value(row, "held_customer_count")),
        next_review_month=_value(row, "next_review_month"),
        as_of_month=_value(row, "as_of_month"),
    )


@router.get("", response_model=list[SegmentProfile], responses=AUTH_ERRORS)
async def list_segments(snapshot: SnapshotDep) -> list[SegmentProfile]:
    """Every segment of the published scores, largest first."""
    rows = snapshot.segments.sort_values(["customer_count", "segment_id"], ascending=[False, True])
    return [profile(row) for row in rows.to_dict("records")]


@router.get(
    "/{segment_id}",
    response_model=SegmentProfile,
    responses={**AUTH_ERRORS, 404: {"model": ErrorMessage, "description": "No such segment"}},
)
async def read_segment(
    segment_id: Annotated[int, Path(ge=0, le=10_000)], snapshot: SnapshotDep
) -> SegmentProfile:
    """One segment: size, expected and observed churn, drivers and rule."""
    rows = snapshot.segments[snapshot.segments["segment_id"] == segment_id]
    if rows.empty:
        known = ", ".join(str(i) for i in sorted(snapshot.segments["segment_id"].tolist()))
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no segment {segment_id} in version {snapshot.version}; segments: {known}",
        )
    return profile(rows.iloc[0].to_dict())
