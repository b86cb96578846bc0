"""What the services' OpenAPI 3.1 documents share: the error object, JSON Schemas taken from the very
pydantic models the services validate with (so a document cannot describe rules the code does not
apply), and the unauthenticated route that serves a document at `GET /openapi.json`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode, SkipJsonSchema, models_json_schema

from payments_common.http import json_response

OPENAPI_VERSION = "3.1.0"
DOCUMENT_PATH = "/openapi.json"
HEALTH_PATH = "/health"
REF_TEMPLATE = "#/components/schemas/{model}"
JSON = "application/json"


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent_when_none() -> Any:
    """A field left out of the answer rather than rendered as null: the schema shows neither the null nor
    a null default (which a type `string` would contradict)."""
    return Field(default=None, json_schema_extra=_without_default)


class ErrorDetail(BaseModel):
    """The contract's error object; `field` only where one field is at fault (never null)."""

    model_config = ConfigDict(extra="forbid")

    code: str
    description: str
    field: str | SkipJsonSchema[None] = absent_when_none()


class ErrorResponse(BaseModel):
    """`{"error": {...}}`: what `ApiError.body()` renders."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"]


Schemas = dict[str, dict[str, Any]]
Ref = dict[str, str]


def component_schemas(
    models: Iterable[tuple[type[BaseModel], JsonSchemaMode]],
) -> tuple[Callable[[type[BaseModel]], Ref], Schemas]:
    """JSON Schemas of `models` (and of the models they nest) for `components.schemas`, and a function
    giving a model's `$ref`. Requests are described as validated (`validation`), answers as rendered
    (`serialization`); field names are the aliases the wire uses."""
    pairs = list(models)
    refs, defs = models_json_schema(pairs, by_alias=True, ref_template=REF_TEMPLATE)
    by_model = {model: refs[(model, mode)] for model, mode in pairs}

    def ref(model: type[BaseModel]) -> Ref:
        return {"$ref": str(by_model[model]["$ref"])}

    return ref, dict(defs.get("$defs", {}))


def json_body(schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": dict(schema)}}}


def meta_paths(
    ref: Callable[[type[BaseModel]], Ref], *, public: bool, refusals: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`GET /health` and `GET /openapi.json`; `public` clears a document-wide security requirement, and
    `refusals` are the error answers a service's middlewares may give on every route."""
    security: dict[str, Any] = {"security": []} if public else {}
    errors = dict(refusals or {})
    return {
        HEALTH_PATH: {
            "get": {
                "operationId": "health",
                "summary": "Liveness: the process answers HTTP",
                **security,
                "responses": {"200": json_body(ref(Health), "the process is up"), **errors},
            }
        },
        DOCUMENT_PATH: {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                **security,
                "responses": {"200": json_body({"type": "object"}, "the OpenAPI 3.1 document"), **errors},
            }
        },
    }


def add_document_route(app: web.Application, document: Callable[[], dict[str, Any]]) -> None:
    """Serve `document()` at `GET /openapi.json` (the services cache what it returns)."""

    async def serve(_: web.Request) -> web.Response:
        return json_response(document())

    app.router.add_get(DOCUMENT_PATH, serve)
