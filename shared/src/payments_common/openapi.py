"""What the services' OpenAPI 3.1 documents share: the error object, JSON Schemas taken from the very
pydantic models the services validate with (so a document cannot describe rules the code does not
apply), and the unauthenticated route that serves a document at `GET /openapi.json`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic.json_schema import JsonSchemaMode, SkipJsonSchema, models_json_schema

from payments_common.http import json_response
from payments_common.observability import LIVENESS_PATH, METRICS_PATH, READINESS_PATH
from payments_common.timeutil import iso

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


def query_parameter(name: str, description: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """An optional query-string parameter."""
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


# /readyz's answers (payments_common.health), inline: a service's `component_schemas` need not list them
_READINESS_CHECK = {
    "type": "object",
    "required": ["ok", "seconds"],
    "properties": {
        "ok": {"type": "boolean"},
        "seconds": {"type": "number", "minimum": 0},
        "error": {"type": "string", "description": "why the check failed; absent when it passed"},
    },
    "additionalProperties": False,
}
_READINESS_CHECKS = {"type": "object", "additionalProperties": _READINESS_CHECK}
_READY = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {"status": {"const": "ready"}, "checks": _READINESS_CHECKS},
    "additionalProperties": False,
}


def _observability_paths(ref: Callable[[type[BaseModel]], Ref], meta: dict[str, Any]) -> dict[str, Any]:
    """The routes base_app gives every service (payments_common.observability)."""
    return {
        LIVENESS_PATH: {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness: the process answers HTTP (nothing else is checked)",
                **meta["security"],
                "responses": {"200": json_body(ref(Health), "the process is up"), **meta["errors"]},
            }
        },
        READINESS_PATH: {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: every dependency check passes (database, migrations, broker)",
                # the 503 is described here rather than under `responses`, where every error answer of
                # these documents is the error object: it is `{"status": "unready", "failing": [names],
                # "checks": {...}}`, a probe's answer rather than a client's error
                "description": (
                    "503 when a check fails, with `status` `unready`, `failing` naming the failed checks, and "
                    "`checks` as below, each failed one with its `error`."
                ),
                **meta["security"],
                "responses": {"200": json_body(_READY, "ready to serve"), **meta["errors"]},
            }
        },
        METRICS_PATH: {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics, for a scraper inside the network",
                **meta["security"],
                "responses": {
                    "200": {
                        "description": "the Prometheus text format, version 0.0.4",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **meta["errors"],
                },
            }
        },
    }


def meta_paths(
    ref: Callable[[type[BaseModel]], Ref], *, public: bool, refusals: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`GET /health`, `GET /openapi.json` and the observability routes; `public` clears a document-wide
    security requirement, and `refusals` are the error answers a service's middlewares may give on every
    route."""
    security: dict[str, Any] = {"security": []} if public else {}
    errors = dict(refusals or {})
    return {
        **_observability_paths(ref, {"security": security, "errors": errors}),
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


# --- answers rendered from the models that document them ---------------------------------------------

# a moment in an answer: rendered by `timeutil.iso` (UTC, milliseconds, `Z`), documented as a date-time
Timestamp = Annotated[
    datetime,
    PlainSerializer(iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


def _absent_fields(model: BaseModel) -> dict[Any, Any]:
    """pydantic's `exclude` for the `absent_when_none` fields that are None, at every depth: those are
    left out of the answer, where every other None is rendered as null."""
    exclude: dict[Any, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None and info.json_schema_extra is _without_default:
            exclude[name] = True
        elif isinstance(value, BaseModel):
            if inner := _absent_fields(value):
                exclude[name] = inner
        elif isinstance(value, list):
            items = {
                i: found
                for i, item in enumerate(value)
                if isinstance(item, BaseModel) and (found := _absent_fields(item))
            }
            if items:
                exclude[name] = items
    return exclude


def dump(model: BaseModel) -> dict[str, Any]:
    """A response model as its JSON object: the wire names, `absent_when_none` fields left out when None."""
    return model.model_dump(mode="json", by_alias=True, exclude=_absent_fields(model) or None)


def model_response(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """The answer of a view: the very model the document describes, serialised."""
    return json_response(dump(model), status, headers)


View = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Route:
    """A row of a service's route table, read both by the router and by the OpenAPI document: `answer`
    is the model of the success answer (`status`), None for one that is not JSON (documented apart)."""

    method: str
    path: str
    view: View
    answer: type[BaseModel] | None
    status: int = 200


def add_routes(app: web.Application, routes: Iterable[Route]) -> None:
    for route in routes:
        if route.method == "GET":
            # as `add_get` does: HEAD answered too, as HTTP defines it by GET
            app.router.add_get(route.path, route.view)
        else:
            app.router.add_route(route.method, route.path, route.view)
