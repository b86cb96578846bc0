"""The native lists' views: `GET /orders`, `GET /payments`, `GET /refunds` and `GET /payments/{id}`."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.lists import service
from order_svc.lists.schemas import (
    OrderListQuery,
    OrderPage,
    PaymentListQuery,
    PaymentPage,
    RefundListQuery,
    RefundPage,
)
from order_svc.payments.schemas import PaymentAttempt
from payments_common.http import parse_model
from payments_common.openapi import Route, model_response


async def get_orders(request: web.Request) -> web.Response:
    query = parse_model(OrderListQuery, dict(request.query))
    page = query.page(status=query.status, receipt=query.receipt)
    return model_response(await service.orders_page(request.app[DEPS], merchant_of(request), page))


async def get_payments(request: web.Request) -> web.Response:
    query = parse_model(PaymentListQuery, dict(request.query))
    page = query.page(status=query.status)
    return model_response(await service.payments_page(request.app[DEPS], merchant_of(request), page))


async def get_refunds(request: web.Request) -> web.Response:
    query = parse_model(RefundListQuery, dict(request.query))
    page = query.page(status=query.status)
    return model_response(await service.refunds_page(request.app[DEPS], merchant_of(request), page))


# the POST-only routes beside `/payments/{payment_id}`: a GET of them stays the 405 it was before that route
_POST_ONLY = frozenset({"initiate", "verify"})


async def get_payment(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    if payment_id in _POST_ONLY:
        raise web.HTTPMethodNotAllowed("GET", ["POST"])
    return model_response(await service.payment(request.app[DEPS], merchant_of(request), payment_id))


ROUTES = [
    Route("GET", "/orders", get_orders, OrderPage),
    Route("GET", "/payments", get_payments, PaymentPage),
    Route("GET", "/payments/{payment_id}", get_payment, PaymentAttempt),
    Route("GET", "/refunds", get_refunds, RefundPage),
]
