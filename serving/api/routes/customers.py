"""GET /customers: campaign lists (pages or CSV); GET /customers/{customer_id}: one
customer's churn score, drivers and segment."""

from __future__ import annotations

import csv
import io
import struct
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse

from serving.api.deps import SnapshotDep, authorize, current_snapshot
from serving.api.schemas import (
    CustomerList,
    CustomerListItem,
    CustomerScore,
    ErrorMessage,
    NotScored,
)
from serving.index import LIST_COLUMNS, ListFilter

router = APIRouter(prefix="/customers", tags=["customers"])
# the single-customer lookup: its own router, authorized inline (see read_customer)
lookup_router = APIRouter(prefix="/customers", tags=["customers"])

MAX_ID_LENGTH = 1024
# any id ingestion accepts (a trimmed non-empty string), URL-encoded where needed; `path`
# keeps an encoded slash inside the id
CustomerId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description="Customer id as in the customer master, URL-encoded, e.g. C0000042",
    ),
]


MAX_PAGE = 1000
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
    where = ListFilter(risk_band=risk_band, segment_id=segment_id, min_score=min_score)
    index = snapshot.index
    if format == "csv":
        return StreamingResponse(
            _csv_rows(index.rows(where)),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="customers-{snapshot.version}.csv"'
            },
        )
    after = _decode_cursor(cursor) if cursor is not None else None
    rows = index.page(where, after, limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    return CustomerList(
        items=[CustomerListItem(**row) for row in rows],
        total=index.count(where),
        limit=limit,
        next_cursor=(
            _encode_cursor(rows[-1]["churn_probability"], rows[-1]["customer_id"])
            if has_more
            else None
        ),
        published_version=snapshot.version,
        as_of_month=snapshot.manifest.get("as_of_month"),
    )


def _csv_rows(chunks: Iterator[list[tuple]]) -> Iterator[str]:
    """The list as CSV, a chunk of rows at a time."""
    yield ",".join(LIST_COLUMNS) + "\r\n"
    for chunk in chunks:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(chunk)
        yield buffer.getvalue()


@lookup_router.get(
    "/{customer_id:path}",
    response_model=CustomerScore,
    openapi_extra={"security": [{"HTTPBearer": []}, {"APIKeyHeader": []}]},
    responses={
        404: {
            "model": NotScored,
            "description": "No score: an unknown id, or a known customer with the reason why",
        },
        **AUTH_ERRORS,
        422: {"description": "The customer id is empty or longer than 1,024 characters"},
    },
)
async def read_customer(request: Request, customer_id: CustomerId):
    """Score, risk band, top drivers, segment, model version and as-of date."""
    # the hot path: authorization and the snapshot inline, not as dependencies (FastAPI's
    # dependency solving was most of this route's time); OpenAPI security via openapi_extra
    authorize(request)
    snapshot = await current_snapshot(request)
    body = snapshot.index.lookup(customer_id)
    if body is None:
        return _not_scored(customer_id, snapshot)
    # rendered once when the version was published (the CustomerScore schema)
    return Response(content=body, media_type="application/json")


def _not_scored(customer_id: str, snapshot) -> JSONResponse:
    """404 that tells an unknown id apart from a known customer without a score."""
    as_of = snapshot.manifest.get("as_of_month")
    known = snapshot.index.unscored(customer_id)
    if known is not None:
        body = NotScored(
            detail=f"customer {customer_id[:64]!r} has no churn score as of {as_of}: {known[1]}",
            reason=known[0],
        )
    else:
        body = NotScored(
            detail=f"customer {customer_id[:64]!r} is not in the customer master published as of "
            f"{as_of}: check the id",
            reason="unknown_customer",
        )
    return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content=body.model_dump())


async def fast_lookup(request: Request) -> Response:
    """``read_customer`` as a plain Starlette endpoint, matched before FastAPI's routes:
    the same checks and answers without FastAPI's per-request machinery (most of this
    route's time). The FastAPI route stays as the documented contract."""
    customer_id = request.path_params["customer_id"]
    if not 1 <= len(customer_id) <= MAX_ID_LENGTH:
        kind = "string_too_short" if not customer_id else "string_too_long"
        raise RequestValidationError(
            [
                {
                    "loc": ("path", "customer_id"),
                    "msg": f"String should have 1 to {MAX_ID_LENGTH} characters",
                    "type": kind,
                    "input": customer_id,
                }
            ]
        )
    return await read_customer(request, customer_id)
