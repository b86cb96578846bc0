"""The /v1 surface's plumbing: Razorpay's error shape on every /v1 answer, query strings, the methods
route, and `install`, which the composition root calls once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel

from order_svc.lists.domain import Page
from order_svc.v1.domain import METHODS_ALIAS, on_surface, razorpay_error
from order_svc.v1.schemas import ListQuery, Methods
from payments_common.http import Handler, correlation_middleware, parse_model
from payments_common.openapi import Route, model_response

Q = TypeVar("Q", bound=BaseModel)


@web.middleware
async def razorpay_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outside the error middleware, so every error a /v1 request gets (its view's, authentication's,
    the rate limits', an unknown route's, an idempotency key's replay) is rewritten the same way."""
    response = await handler(request)
    if response.status < 400 or not on_surface(request.path) or not isinstance(response, web.Response):
        return response
    if not isinstance(response.body, bytes):
        return response
    try:
        data = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return response
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict) or "source" in error:
        return response
    status, body = razorpay_error(response.status, error)
    response.set_status(status)
    response.body = orjson.dumps(body)
    return response


def parse_query(model: type[Q], request: web.Request) -> Q:
    return parse_model(model, dict(request.query))


def list_page(request: web.Request, **filters: Any) -> Page:
    """The page a /v1 list asks for (`count`, `skip`, `from`, `to`), narrowed by `filters`."""
    return parse_query(ListQuery, request).page(**filters)


def collection(model: type[Q], items: Sequence[BaseModel]) -> web.Response:
    """A /v1 list's answer: Razorpay's collection of `items`."""
    return model_response(model(entity="collection", count=len(items), items=items))


async def get_methods(_: web.Request) -> web.Response:
    return model_response(Methods.all())


ROUTES = [
    Route("GET", "/v1/methods", get_methods, Methods),
    Route("GET", METHODS_ALIAS, get_methods, Methods),
]


def install(app: web.Application) -> None:
    """Razorpay's errors on /v1, right inside the metrics (which count what the client got)."""
    middlewares = list(app.middlewares)
    at = middlewares.index(correlation_middleware) if correlation_middleware in middlewares else 0
    app.middlewares.insert(at, razorpay_errors)
