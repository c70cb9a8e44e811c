"""Dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from serving.api.config import Settings
from serving.api.security import ApiKeys, RateLimit, hash_key
from serving.store import ApiSnapshot, NotPublishedError, SnapshotCache

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`")
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="`X-API-Key: <API key>`"
)
MAX_KEY_LENGTH = 256


async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    return request.app.state.settings


async def get_cache(request: Request) -> SnapshotCache:
    """The snapshot cache created in the lifespan handler."""
    return request.app.state.cache


async def get_snapshot(cache: Annotated[SnapshotCache, Depends(get_cache)]) -> ApiSnapshot:
    """The current published snapshot, or 503 when nothing is published yet. Loading a new
    version runs in a worker thread, so requests keep being served meanwhile."""
    try:
        return cache.peek() or await run_in_threadpool(cache.get)
    except NotPublishedError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc


def authorize(request: Request) -> str:
    """The caller's name when the API key sent is valid and within the rate limit; else
    401/429. Every key sent must be valid: a good X-API-Key does not excuse a bad
    Authorization header. (Plain, so the hot lookup route can call it without FastAPI's
    dependency machinery.)"""
    headers = request.headers
    supplied = []
    if header_key := headers.get("x-api-key"):
        supplied.append(header_key)
    if (authorization := headers.get("authorization")) is not None:
        scheme, _, token = authorization.partition(" ")
        # not "Bearer <key>": an invalid credential, refused below
        supplied.append(token.strip() if scheme.lower() == "bearer" and token.strip() else "")
    challenge = {"WWW-Authenticate": "Bearer"}
    if not any(supplied):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="an API key is required: send it as `Authorization: Bearer <key>` or "
            "`X-API-Key: <key>` (ask the data team for one)",
            headers=challenge,
        )
    state = request.app.state
    keys: ApiKeys = state.api_keys
    holders = {keys.holder(k) if 0 < len(k) <= MAX_KEY_LENGTH else None for k in supplied}
    holder = holders.pop() if len(holders) == 1 else None
    if holder is None:
        detail = (
            "this API key is not valid (revoked or mistyped): ask the data team for a new one"
            if keys.configured()
            else "no API keys are configured on this server: make one with "
            "`propensity api-key new --name NAME`"
        )
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers=challenge)
    limit: RateLimit = state.rate_limit
    caller = hash_key(supplied[0])
    if not limit.allow(caller):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"rate limit of {limit.item} per API key reached: retry later",
            headers={"Retry-After": str(limit.retry_after(caller))},
        )
    return holder


async def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    header_key: Annotated[str | None, Security(api_key_header)],
) -> str:
    """``authorize`` as a dependency; the two security schemes document it in OpenAPI."""
    return authorize(request)


async def current_snapshot(request: Request) -> ApiSnapshot:
    """``get_snapshot`` without the dependency machinery, for the hot lookup route."""
    return await get_snapshot(request.app.state.cache)


SettingsDep = Annotated[Settings, Depends(get_settings)]
CacheDep = Annotated[SnapshotCache, Depends(get_cache)]
SnapshotDep = Annotated[ApiSnapshot, Depends(get_snapshot)]
CallerDep = Annotated[str, Depends(require_api_key)]
