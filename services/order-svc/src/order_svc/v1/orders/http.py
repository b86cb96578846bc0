"""/v1 orders' views."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.idempotency.http import REQUEST_ID
from order_svc.v1.http import collection, list_page, parse_query
from order_svc.v1.orders import service
from order_svc.v1.orders.schemas import CreateOrderV1, OrderCollection, OrderEntity
from order_svc.v1.payments import service as payments
from order_svc.v1.payments.schemas import PaymentCollection
from order_svc.v1.schemas import OrderListQuery
from payments_common.http import parse_model, read_json_object
from payments_common.openapi import Route, model_response


async def post_order(request: web.Request) -> web.Response:
    cmd = parse_model(CreateOrderV1, await read_json_object(request))
    return model_response(await service.create(request.app[DEPS], merchant_of(request), cmd, request.get(REQUEST_ID)))


async def get_order(request: web.Request) -> web.Response:
    order = await service.fetch(request.app[DEPS], merchant_of(request), request.match_info["order_id"])
    return model_response(order)


async def get_orders(request: web.Request) -> web.Response:
    query = parse_query(OrderListQuery, request)
    page = query.page(receipt=query.receipt)
    items = await service.list_orders(request.app[DEPS], merchant_of(request), page, query.authorized_filter())
    return collection(OrderCollection, items)


async def get_order_payments(request: web.Request) -> web.Response:
    order_id = request.match_info["order_id"]
    items = await payments.list_payments(request.app[DEPS], merchant_of(request), list_page(request), order_id)
    return collection(PaymentCollection, items)


ROUTES = [
    Route("POST", "/v1/orders", post_order, OrderEntity),
    Route("GET", "/v1/orders", get_orders, OrderCollection),
    Route("GET", "/v1/orders/{order_id}", get_order, OrderEntity),
    Route("GET", "/v1/orders/{order_id}/payments", get_order_payments, PaymentCollection),
]
