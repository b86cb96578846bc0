"""The webhook endpoints' views: the merchant's endpoints, their delivery log and a redelivery."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.webhook_endpoints import service
from order_svc.webhook_endpoints.schemas import DeliveriesQuery, EndpointDeleted
from payments_common.http import parse_model, read_json_object
from payments_common.merchant_webhooks import (
    Delivery,
    DeliveryList,
    Endpoint,
    EndpointCreate,
    EndpointList,
    EndpointUpdate,
    EndpointWithSecret,
)
from payments_common.openapi import Route, model_response


def _endpoint_id(request: web.Request) -> str:
    return request.match_info["endpoint_id"]


async def post_endpoint(request: web.Request) -> web.Response:
    cmd = parse_model(EndpointCreate, await read_json_object(request))
    created = await service.create_endpoint(request.app[DEPS], merchant_of(request), cmd)
    return model_response(created, status=201)


async def get_endpoints(request: web.Request) -> web.Response:
    return model_response(await service.list_endpoints(request.app[DEPS], merchant_of(request)))


async def get_endpoint(request: web.Request) -> web.Response:
    endpoint = await service.get_endpoint(request.app[DEPS], merchant_of(request), _endpoint_id(request))
    return model_response(endpoint)


async def patch_endpoint(request: web.Request) -> web.Response:
    cmd = parse_model(EndpointUpdate, await read_json_object(request))
    endpoint = await service.update_endpoint(request.app[DEPS], merchant_of(request), _endpoint_id(request), cmd)
    return model_response(endpoint)


async def delete_endpoint(request: web.Request) -> web.Response:
    deleted = await service.delete_endpoint(request.app[DEPS], merchant_of(request), _endpoint_id(request))
    return model_response(EndpointDeleted(id=deleted, deleted=True))


async def post_rotate_secret(request: web.Request) -> web.Response:
    endpoint = await service.rotate_secret(request.app[DEPS], merchant_of(request), _endpoint_id(request))
    return model_response(endpoint)


async def get_deliveries(request: web.Request) -> web.Response:
    query = parse_model(DeliveriesQuery, dict(request.query))
    deliveries = await service.endpoint_deliveries(
        request.app[DEPS], merchant_of(request), _endpoint_id(request), query.limit
    )
    return model_response(deliveries)


async def post_redeliver(request: web.Request) -> web.Response:
    delivery = await service.redeliver(request.app[DEPS], merchant_of(request), request.match_info["delivery_id"])
    return model_response(delivery, status=202)


ROUTES = [
    Route("POST", "/webhook-endpoints", post_endpoint, EndpointWithSecret, 201),
    Route("GET", "/webhook-endpoints", get_endpoints, EndpointList),
    Route("GET", "/webhook-endpoints/{endpoint_id}", get_endpoint, Endpoint),
    Route("PATCH", "/webhook-endpoints/{endpoint_id}", patch_endpoint, Endpoint),
    Route("DELETE", "/webhook-endpoints/{endpoint_id}", delete_endpoint, EndpointDeleted),
    Route("POST", "/webhook-endpoints/{endpoint_id}/rotate-secret", post_rotate_secret, EndpointWithSecret),
    Route("GET", "/webhook-endpoints/{endpoint_id}/deliveries", get_deliveries, DeliveryList),
    Route("POST", "/webhook-deliveries/{delivery_id}/redeliver", post_redeliver, Delivery, 202),
]
