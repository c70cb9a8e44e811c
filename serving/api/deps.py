"""Dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from serving.api.config import Settings
from serving.store import NotPublishedError, Snapshot, SnapshotCache


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    return request.app.state.settings


def get_cache(request: Request) -> SnapshotCache:
    """The snapshot cache created in the lifespan handler."""
    return request.app.state.cache


def get_snapshot(cache: Annotated[SnapshotCache, Depends(get_cache)]) -> Snapshot:
    """The current published snapshot, or 503 when nothing is published yet."""
    try:
        return cache.get()
    except NotPublishedError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc


SettingsDep = Annotated[Settings, Depends(get_settings)]
CacheDep = Annotated[SnapshotCache, Depends(get_cache)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
