"""POST /score: score customers in real time with the published model, bands and segmenter."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool

from serving.api.deps import SnapshotDep
from serving.api.routes.customers import AUTH_ERRORS
from serving.api.schemas import ErrorMessage, ScoreRequest, ScoreResponse, ScoreResult

router = APIRouter(prefix="/score", tags=["scoring"])
NAME_LIMIT = 64  # characters of a caller's feature name an error may repeat


@router.post(
    "",
    response_model=ScoreResponse,
    responses={
        **AUTH_ERRORS,
        400: {"model": ErrorMessage, "description": "The body is not JSON (or not UTF-8)"},
        503: {"model": ErrorMessage, "description": "The published version has no model"},
    },
)
async def score(request: ScoreRequest, snapshot: SnapshotDep) -> ScoreResponse:
    """Score one customer (a list of one) or a batch, from features an application holds:
    the calibrated churn probability, the risk band by the published scores' cut points, the
    strongest exact SHAP drivers with the way each pushes, and the segment the published
    segmenter assigns. A missing, unknown, non-finite or implausible feature is a 422 that
    names it."""
    scorer = snapshot.scorer
    if scorer is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=snapshot.scoring_problem or "no scoring model is published",
        )
    errors = [
        {
            "loc": ["body", "customers", i, "features", name[:NAME_LIMIT]],
            "msg": why[:300],
            "type": "value_error",
        }
        for i, customer in enumerate(request.customers)
        for name, why in scorer.problems(customer.features)
    ]
    if errors:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=errors[:50])
    scored = await run_in_threadpool(scorer.score, [c.features for c in request.customers])
    return ScoreResponse(
        model_version=scorer.model_version,
        published_version=snapshot.version,
        results=[
            ScoreResult(reference=customer.reference, **result)
            for customer, result in zip(request.customers, scored, strict=True)
        ],
    )
