"""The baseline of bench/api.py: a bare Starlette JSON endpoint with the lookup's route shape
and no data, auth or validation. Served by the same uvicorn settings as the API."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def customer(request: Request) -> JSONResponse:
    """A constant score for any id."""
    return JSONResponse({"customer_id": request.path_params["customer_id"], "score": 0.5})


app = Starlette(routes=[Route("/customers/{customer_id}", customer)])
