"""GET /customers: campaign lists (pages or CSV); GET /customers/{customer_id}: one
customer's churn score, drivers and segment."""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query, status
from fastapi.responses import JSONResponse, StreamingResponse

from serving.api.deps import SnapshotDep
from serving.api.schemas import (
    CustomerList,
    CustomerListItem,
    CustomerScore,
    Driver,
    ErrorMessage,
    NotScored,
    Segment,
)

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


MAX_PAGE = 1000
LIST_COLUMNS = [
    "customer_id",
    "churn_probability",
    "score_percentile",
    "risk_band",
    "segment_id",
    "segment_name",
    "top_driver_description",
]
AUTH_ERRORS: dict[int | str, dict] = {
    401: {"model": ErrorMessage, "description": "No API key, or one that is not valid"},
    429: {"model": ErrorMessage, "description": "Rate limit reached; see Retry-After"},
    503: {"model": ErrorMessage, "description": "Nothing has been published yet"},
}


# A cursor is the last row's position: its probability's 8 bytes and its id's UTF-8 bytes,
# in hex. Every string of this shape is a valid position, so the schema says exactly what
# is accepted.
CURSOR_PATTERN = r"^[0-9a-f]{16}(?:[0-9a-f]{2}){0,4096}$"


def _encode_cursor(probability: float, customer_id: str) -> str:
    return struct.pack(">d", probability).hex() + customer_id.encode().hex()


def _decode_cursor(cursor: str) -> tuple[float, str]:
    (probability,) = struct.unpack(">d", bytes.fromhex(cursor[:16]))
    return probability, bytes.fromhex(cursor[16:]).decode("utf-8", errors="replace")


@router.get(
    "",
    response_model=CustomerList,
    responses={
        **AUTH_ERRORS,
        200: {"content": {"text/csv": {}}, "description": "A page (JSON) or the list (CSV)"},
        422: {"description": "A filter out of range, or a malformed cursor"},
    },
)
async def list_customers(
    snapshot: SnapshotDep,
    risk_band: Annotated[Literal["high", "medium", "low"] | None, Query()] = None,
    segment_id: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1, description="lowest probability")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page"),
    ] = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv: the whole list")] = "json",
):
    """Customers for a campaign, riskiest first (ties by id), filtered by risk band, segment
    and minimum score. JSON comes in pages of ``limit`` with a cursor; CSV is the whole list."""
    ranked = snapshot.ranked
    mask = pd.Series(True, index=ranked.index)
    if risk_band is not None:
        mask &= ranked["risk_band"] == risk_band
    if segment_id is not None:
        mask &= ranked["segment_id"] == segment_id
    if min_score is not None:
        mask &= ranked["churn_probability"] >= min_score
    matching = ranked[mask]
    if format == "csv":
        return StreamingResponse(
            _csv_rows(matching),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="customers-{snapshot.version}.csv"'
            },
        )
    page = matching
    if cursor is not None:
        after_probability, after_id = _decode_cursor(cursor)
        probability = matching["churn_probability"]
        page = matching[
            (probability < after_probability)
            | ((probability == after_probability) & (matching["customer_id"] > after_id))
        ]
    rows = page.head(limit)
    has_more = len(page) > limit
    last = rows.iloc[-1] if len(rows) else None
    return CustomerList(
        items=[_list_item(row) for row in rows.to_dict("records")],
        total=int(len(matching)),
        limit=limit,
        next_cursor=(
            _encode_cursor(float(last["churn_probability"]), str(last["customer_id"]))
            if has_more and last is not None
            else None
        ),
        published_version=snapshot.version,
        as_of_month=snapshot.manifest.get("as_of_month"),
    )


def _list_item(row: dict) -> CustomerListItem:
    return CustomerListItem(
        customer_id=row["customer_id"],
        churn_probability=float(row["churn_probability"]),
        score_percentile=int(row["score_percentile"]),
        risk_band=row["risk_band"],
        segment_id=int(row["segment_id"]) if _present(row.get("segment_id")) else None,
        segment_name=row.get("segment_name") if _present(row.get("segment_name")) else None,
        top_driver=row.get("top_driver_description")
        if _present(row.get("top_driver_description"))
        else None,
    )


def _csv_rows(frame: pd.DataFrame, chunk: int = 10_000) -> Iterator[str]:
    """The list as CSV, a chunk of rows at a time."""
    columns = [c for c in LIST_COLUMNS if c in frame.columns]
    for start in range(0, max(len(frame), 1), chunk):
        buffer = io.StringIO()
        frame.iloc[start : start + chunk][columns].to_csv(buffer, index=False, header=start == 0)
        yield buffer.getvalue()


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
        **AUTH_ERRORS,
        422: {"description": "The customer id is empty or longer than 1,024 characters"},
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
