"""GET /health: is the service up, and which published version does it serve?"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from serving.api.deps import CacheDep
from serving.api.schemas import Health
from serving.store import NotPublishedError

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(cache: CacheDep, response: Response) -> Health:
    """200 with the published version it serves: ``ok``, or ``degraded`` (with the reason)
    when CURRENT points at a version that cannot be served and the last good one is served
    instead; 503 ``unavailable`` (with the reason) when no complete version exists."""
    try:
        snapshot = cache.get()
    except NotPublishedError as exc:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="unavailable", detail=str(exc))
    model = snapshot.current_model
    return Health(
        status="degraded" if cache.problem else "ok",
        detail=cache.problem,
        published_version=snapshot.version,
        published_at=snapshot.manifest.get("published_at"),
        model_version=snapshot.manifest.get("model_version"),
        model_roc_auc=float(model["roc_auc"]) if model else None,
        as_of_month=snapshot.manifest.get("as_of_month"),
        customers_scored=snapshot.customer_count,
    )
