"""The webhook endpoints' part of order-svc's OpenAPI document (`order_svc.openapi` merges it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from order_svc.webhook_endpoints.http import ROUTES
from order_svc.webhook_endpoints.schemas import DEFAULT_DELIVERIES, MAX_DELIVERIES
from payments_common import openapi
from payments_common.merchant_webhooks import EndpointCreate, EndpointUpdate

# the request body of each route that takes one
REQUESTS: Mapping[tuple[str, str], type[BaseModel]] = {
    ("POST", "/webhook-endpoints"): EndpointCreate,
    ("PATCH", "/webhook-endpoints/{endpoint_id}"): EndpointUpdate,
}
# each operation's id and summary
_OPERATIONS = {
    ("POST", "/webhook-endpoints"): (
        "createWebhookEndpoint",
        "Register a webhook endpoint; the answer shows its signing secret, once",
    ),
    ("GET", "/webhook-endpoints"): ("listWebhookEndpoints", "The merchant's webhook endpoints"),
    ("GET", "/webhook-endpoints/{endpoint_id}"): ("getWebhookEndpoint", "A webhook endpoint (never its secret)"),
    ("PATCH", "/webhook-endpoints/{endpoint_id}"): (
        "updateWebhookEndpoint",
        "Change an endpoint's url, events, status or description",
    ),
    ("DELETE", "/webhook-endpoints/{endpoint_id}"): (
        "deleteWebhookEndpoint",
        "Delete an endpoint: nothing more is delivered to it",
    ),
    ("POST", "/webhook-endpoints/{endpoint_id}/rotate-secret"): (
        "rotateWebhookEndpointSecret",
        "A new signing secret; the previous one keeps signing beside it for the overlap (24 h by default)",
    ),
    ("GET", "/webhook-endpoints/{endpoint_id}/deliveries"): (
        "listWebhookDeliveries",
        "The endpoint's deliveries, newest first, with their attempts and next retry",
    ),
    ("POST", "/webhook-deliveries/{delivery_id}/redeliver"): (
        "redeliverWebhookDelivery",
        "Deliver an event to its endpoint again, under the same event id",
    ),
}
_LIMIT = openapi.query_parameter(
    "limit",
    f"the newest 1 to {MAX_DELIVERIES}, {DEFAULT_DELIVERIES} by default",
    {"type": "integer", "minimum": 1, "maximum": MAX_DELIVERIES},
)
_MEANING = {
    400: "invalid input: not JSON, not an object, or a field breaks a rule (`field` names it), an event name "
    "that does not exist, or a URL merchant-webhooks refuses to call (not https, or an address that is not public)",
    401: "missing or invalid API credentials",
    404: "no such endpoint or delivery for this merchant",
    408: "`REQUEST_TIMEOUT`: the request body did not arrive in time",
    413: "request body over the size limit",
    429: "`RATE_LIMITED`: see `Retry-After`",
    503: "`SERVICE_UNAVAILABLE`: webhook endpoints cannot be reached right now; retry",
}


def paths(ref: Callable[[type[BaseModel]], openapi.Ref], error: openapi.Ref) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for route in ROUTES:
        assert route.answer is not None
        key = (route.method, route.path)
        statuses = [401, 429, 503] + ([400, 408, 413] if key in REQUESTS else [])
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", route.path)
        ]
        if parameters:
            statuses.append(404)
        if route.path.endswith("/deliveries"):
            parameters.append(_LIMIT)
            statuses.append(400)
        operation_id, summary = _OPERATIONS[key]
        responses = {str(route.status): openapi.json_body(ref(route.answer), summary)}
        for status in sorted(set(statuses)):
            responses[str(status)] = openapi.json_body(error, _MEANING[status])
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
        operation: dict[str, Any] = {
            "operationId": operation_id,
            "summary": summary,
            "parameters": parameters,
            "responses": responses,
        }
        if key in REQUESTS:
            operation["requestBody"] = {"required": True, "content": {openapi.JSON: {"schema": ref(REQUESTS[key])}}}
        items.setdefault(route.path, {})[route.method.lower()] = operation
    return items
