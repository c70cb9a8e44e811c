"""Build the FastAPI app: `uvicorn serving.api.main:app` or `propensity serve-api`."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi_offline import FastAPIOffline
from starlette.routing import Route

from serving.api.config import Settings
from serving.api.deps import require_api_key
from serving.api.routes import customers, health, model, score, segments
from serving.api.security import ApiKeys, RateLimit
from serving.store import NotPublishedError, SnapshotCache, load_api_snapshot

log = logging.getLogger(__name__)
ECHO_LIMIT = 64  # characters of a caller's input an error body may repeat


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, reading the published marts under ``settings.serving_dir``."""
    settings = settings or Settings()
    api_keys = ApiKeys(settings.api_key_hashes, settings.api_keys_file)
    rate_limit = RateLimit(settings.api_rate_limit)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        app.state.api_keys = api_keys
        app.state.rate_limit = rate_limit
        app.state.cache = SnapshotCache(settings.serving_dir, loader=load_api_snapshot)
        try:
            snapshot = app.state.cache.get()
            log.info("serving %s (%d customers)", snapshot.version, snapshot.customer_count)
        except NotPublishedError as exc:
            log.warning("%s", exc)
        if not api_keys.configured():
            log.warning(
                "no API keys are configured (%s): every call but /health gets 401. Make one "
                "with `propensity api-key new --name NAME`",
                settings.api_keys_file,
            )
        yield

    # docs assets come from the installed fastapi-offline package: /docs works offline
    app = FastAPIOffline(
        title="Customer Propensity API",
        summary="Churn scores, SHAP drivers and segments from the published dbt marts.",
        description="Every endpoint but `/health` needs an API key, sent as "
        "`Authorization: Bearer <key>` or `X-API-Key: <key>`.",
        version="0.1.0",
        lifespan=lifespan,
        # a trailing-slash redirect would be built from the request's Host header
        redirect_slashes=False,
    )
    if settings.api_trusted_hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.api_trusted_hosts)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_exception_handler(RequestValidationError, _short_validation_error)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")  # relative: never built from the request's host

    app.include_router(health.router)
    for router in (customers.router, segments.router, model.router, score.router):
        app.include_router(router, dependencies=[Depends(require_api_key)])
    app.include_router(customers.lookup_router)  # the documented contract of the lookup
    # the hot path, matched first (each request tries the routes in order): the same
    # endpoint as a plain Starlette route (see customers.fast_lookup)
    app.router.routes.insert(
        0,
        Route(
            "/customers/{customer_id:path}",
            customers.fast_lookup,
            methods=["GET"],
            include_in_schema=False,
        ),
    )
    static_openapi = app.openapi

    def openapi() -> dict:
        # POST /score's features are the published model's: the live schema names each,
        # with the range it accepts, so clients (and schemathesis) can send valid rows
        cache = getattr(app.state, "cache", None)
        snapshot = cache.peek() if cache is not None else None
        scorer = getattr(snapshot, "scorer", None)
        if snapshot is None or scorer is None:
            return static_openapi()
        key = (snapshot.version, id(scorer))
        if app.state.__dict__.get("_openapi_key") != key:
            app.state._openapi = _with_score_features(static_openapi(), scorer)
            app.state._openapi_key = key
        return app.state._openapi

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _with_score_features(schema: dict, scorer) -> dict:
    """A copy of the OpenAPI schema whose ScoreInput.features lists the model's features."""
    import copy
    import math

    schema = copy.deepcopy(schema)
    properties = {}
    for name in scorer.features:
        bounds = scorer.ranges.get(name)
        number: dict = {"type": "number"}
        if bounds is not None and math.isfinite(bounds.lower):
            number["minimum"] = bounds.lower
        if bounds is not None and math.isfinite(bounds.upper):
            number["maximum"] = bounds.upper
        nullable = bounds is None or bounds.nullable
        entry = {"anyOf": [number, {"type": "null"}]} if nullable else number
        entry["description"] = scorer.descriptions.get(name, name)
        properties[name] = entry
    target = schema.get("components", {}).get("schemas", {}).get("ScoreInput")
    if target is not None:
        target["properties"]["features"] = {
            "type": "object",
            "title": "Features",
            "description": f"Every feature of model {scorer.model_version}, null where "
            "unknown and allowed",
            "properties": properties,
            "required": list(scorer.features),
            "additionalProperties": False,
        }
    return schema


def _clip(value: object) -> object:
    text = value if isinstance(value, str) else None
    if text is not None and len(text) > ECHO_LIMIT:
        return text[:ECHO_LIMIT] + "…"
    if isinstance(value, (dict, list)) and len(repr(value)) > ECHO_LIMIT:
        return repr(value)[:ECHO_LIMIT] + "…"
    return value


async def _short_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field, repeating at most a short prefix of what was sent."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(error.get("loc", ())),
            "msg": str(error.get("msg", ""))[:200],
            "type": error.get("type", ""),
            "input": _clip(error.get("input")),
        }
        for error in exc.errors()[:20]
    ]
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": errors}
    )


app = create_app()
