"""The orders' views: parse the request, call the use case, answer the model the document describes."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.idempotency.http import REQUEST_ID
from order_svc.orders.schemas import CreateOrder, OrderCreated, OrderResource
from order_svc.orders.service import create_order, read_order
from payments_common.http import parse_model, read_json_object
from payments_common.openapi import Route, model_response


async def post_order(request: web.Request) -> web.Response:
    cmd = parse_model(CreateOrder, await read_json_object(request))
    order = await create_order(request.app[DEPS], merchant_of(request), cmd, request.get(REQUEST_ID))
    return model_response(OrderCreated.of(order), status=201)


async def get_order(request: web.Request) -> web.Response:
    read = await read_order(request.app[DEPS], merchant_of(request), request.match_info["order_id"])
    return model_response(OrderResource.of(read.order, read.payments, read.refunds))


ROUTES = [
    Route("POST", "/orders", post_order, OrderCreated, status=201),
    Route("GET", "/orders/{order_id}", get_order, OrderResource),
]
