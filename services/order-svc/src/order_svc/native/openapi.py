"""The OpenAPI operations of the native routes documented here (plans, subscriptions, payment links), each
from its row of `ROUTES` and a `Doc`: its id, summary, query parameters and the errors it answers besides
those every client route may (401, 429; 408 and 413 with a body). `order_svc.openapi` merges them, then adds
every POST's `Idempotency-Key`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from payments_common import openapi
from payments_common.openapi import Route

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Doc:
    operation_id: str
    summary: str
    # the errors this operation answers beyond the common ones, and what each means here
    errors: Mapping[int, str] = field(default_factory=dict)
    query: Sequence[dict[str, Any]] = ()


_COMMON = {
    401: "missing or invalid API credentials",
    408: "`REQUEST_TIMEOUT`: the request body did not arrive in time",
    413: "request body over the size limit",
    429: "`RATE_LIMITED`: this API key's request rate, or this address's failed authentications; see `Retry-After`",
}


def paths(
    ref: Callable[[type[BaseModel]], openapi.Ref],
    error: openapi.Ref,
    routes: Sequence[Route],
    requests: Mapping[Key, type[BaseModel]],
    docs: Mapping[Key, Doc],
) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for route in routes:
        assert route.answer is not None
        key = (route.method, route.path)
        doc = docs[key]
        meanings = {status: _COMMON[status] for status in (401, 429)}
        if key in requests:
            meanings |= {status: _COMMON[status] for status in (408, 413)}
        meanings |= doc.errors
        responses = {str(route.status): openapi.json_body(ref(route.answer), doc.summary)}
        for status in sorted(meanings):
            responses[str(status)] = openapi.json_body(error, meanings[status])
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
        operation: dict[str, Any] = {
            "operationId": doc.operation_id,
            "summary": doc.summary,
            "parameters": [
                *(
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in re.findall(r"\{(\w+)\}", route.path)
                ),
                *doc.query,
            ],
            "responses": responses,
        }
        if key in requests:
            # a body left out is the same as `{}` where every field is optional (an action's options)
            required = bool(requests[key].model_json_schema().get("required"))
            operation["requestBody"] = {"required": required, "content": {openapi.JSON: {"schema": ref(requests[key])}}}
        items.setdefault(route.path, {})[route.method.lower()] = operation
    return items
