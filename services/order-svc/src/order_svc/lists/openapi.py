"""The native lists' part of order-svc's OpenAPI document (`order_svc.openapi` merges it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from order_svc.lists.domain import DEFAULT_PAGE, MAX_PAGE
from order_svc.lists.http import ROUTES
from payments_common import openapi

_TIME = {"type": "string", "format": "date-time"}
# the query parameters of a page of a native list (the plans' and subscriptions' too)
PAGE = [
    openapi.query_parameter(
        "limit", f"1 to {MAX_PAGE}, {DEFAULT_PAGE} by default", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
    ),
    openapi.query_parameter(
        "cursor",
        "the previous page's `nextCursor`: the page after it, however many rows were added since",
        {"type": "string", "minLength": 1, "maxLength": 200},
    ),
    openapi.query_parameter("from", "created at or after", _TIME),
    openapi.query_parameter("to", "created at or before", _TIME),
]
_STATUSES = {
    "/orders": ["CREATED", "PAID", "FAILED"],
    "/payments": ["INITIATED", "AUTHORIZED", "SUCCESS", "FAILED"],
    "/refunds": ["PENDING", "PROCESSED", "FAILED"],
}
_RECEIPT = {
    "name": "receipt",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "maxLength": 40, "pattern": "^[^\\u0000]*$"},
}


def paths(ref: Callable[[type[BaseModel]], openapi.Ref], error: openapi.Ref) -> dict[str, Any]:
    """The lists' path items (`GET` only; `/orders` merges into the item of `POST /orders`)."""
    items: dict[str, Any] = {}
    for route in ROUTES:
        assert route.answer is not None
        errors = {
            "400": openapi.json_body(error, "a query parameter breaks a rule (`field` names it), or a forged cursor"),
            "401": openapi.json_body(error, "missing or invalid API credentials"),
            "429": openapi.json_body(error, "`RATE_LIMITED`: see `Retry-After`"),
        }
        errors["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        errors["429"]["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
        if route.path in _STATUSES:
            status = {"name": "status", "in": "query", "required": False, "schema": {"enum": _STATUSES[route.path]}}
            parameters = [*PAGE, status, *([_RECEIPT] if route.path == "/orders" else [])]
            summary = f"The merchant's {route.path[1:]}, newest first, a page at a time"
        else:
            parameters = [{"name": "payment_id", "in": "path", "required": True, "schema": {"type": "string"}}]
            summary = "A payment attempt with its refunds"
            errors.pop("400")
            errors["404"] = openapi.json_body(error, "no such payment attempt for this merchant")
        name = route.view.__name__.replace("get_", "list_" if route.path in _STATUSES else "get_")
        items[route.path] = {
            "get": {
                "operationId": "".join(part.title() if i else part for i, part in enumerate(name.split("_"))),
                "summary": summary,
                "parameters": parameters,
                "responses": {"200": openapi.json_body(ref(route.answer), summary), **errors},
            }
        }
    return items
