"""Build the FastAPI app: `uvicorn serving.api.main:app` or `propensity serve-api`."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from serving.api.config import Settings
from serving.api.routes import customers, health
from serving.store import NotPublishedError, SnapshotCache

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, reading the published marts under ``settings.serving_dir``."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        app.state.cache = SnapshotCache(settings.serving_dir)
        try:
            snapshot = app.state.cache.get()
            log.info("serving %s (%d customers)", snapshot.version, len(snapshot.customers))
        except NotPublishedError as exc:
            log.warning("%s", exc)
        yield

    app = FastAPI(
        title="Customer Propensity API",
        summary="Churn scores, SHAP drivers and segments from the published dbt marts.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(customers.router)
    return app


app = create_app()
