"""The internal API of a merchant's webhook endpoints, which order-svc puts its merchant-facing routes in
front of. Every route under `/internal/` needs order-svc's bearer token (`INTERNAL_API_TOKEN`); the merchant
is the path's, and another merchant's endpoint is not found."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from merchant_webhooks.endpoints import schemas
from merchant_webhooks.endpoints.service import (
    EndpointDeps,
    create_endpoint,
    delete_endpoint,
    get_endpoint,
    list_endpoints,
    rotate_secret,
    update_endpoint,
)
from payments_common.bearer import bearer_middleware
from payments_common.http import parse_model, read_json_object
from payments_common.merchant_webhooks import EndpointCreate, EndpointList, EndpointUpdate
from payments_common.openapi import model_response

DEPS = web.AppKey("endpoint_deps", EndpointDeps)
PREFIX = "/internal/"
BASE = "/internal/merchants/{merchant_id}/webhook-endpoints"


def _ids(request: web.Request) -> tuple[EndpointDeps, str]:
    return request.app[DEPS], request.match_info["merchant_id"]


async def post_endpoint(request: web.Request) -> web.Response:
    deps, merchant_id = _ids(request)
    body = parse_model(EndpointCreate, await read_json_object(request))
    created = await create_endpoint(deps, merchant_id, body)
    return model_response(schemas.endpoint_with_secret(created), status=201)


async def get_endpoints(request: web.Request) -> web.Response:
    deps, merchant_id = _ids(request)
    found = await list_endpoints(deps, merchant_id)
    return model_response(EndpointList(items=[schemas.endpoint(e) for e in found]))


async def get_one(request: web.Request) -> web.Response:
    deps, merchant_id = _ids(request)
    return model_response(schemas.endpoint(await get_endpoint(deps, merchant_id, request.match_info["endpoint_id"])))


async def patch_endpoint(request: web.Request) -> web.Response:
    deps, merchant_id = _ids(request)
    body = parse_model(EndpointUpdate, await read_json_object(request))
    changed = await update_endpoint(deps, merchant_id, request.match_info["endpoint_id"], body)
    return model_response(schemas.endpoint(changed))


async def remove_endpoint(request: web.Request) -> web.Response:
    deps, merchant_id = _ids(request)
    await delete_endpoint(deps, merchant_id, request.match_info["endpoint_id"])
    return web.Response(status=204)


async def post_rotate(request: web.Request) -> web.Response:
    deps, merchant_id = _ids(request)
    rotated = await rotate_secret(deps, merchant_id, request.match_info["endpoint_id"])
    return model_response(schemas.endpoint_with_secret(rotated))


def add_routes(app: web.Application, tokens: Sequence[bytes]) -> None:
    """The routes, and the token check in front of the whole `/internal/` prefix (the deliveries' too)."""
    app.middlewares.append(bearer_middleware(PREFIX, tokens, api="internal", setting="INTERNAL_API_TOKEN"))
    app.router.add_post(BASE, post_endpoint)
    app.router.add_get(BASE, get_endpoints)
    app.router.add_get(BASE + "/{endpoint_id}", get_one)
    app.router.add_patch(BASE + "/{endpoint_id}", patch_endpoint)
    app.router.add_delete(BASE + "/{endpoint_id}", remove_endpoint)
    app.router.add_post(BASE + "/{endpoint_id}/rotate-secret", post_rotate)
