"""The client API: views parse the request and shape the answer; handlers decide."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from order_svc import idempotency, openapi, receipts, refund_http
from order_svc.auth import MERCHANT_ID, authenticate, merchant_of
from order_svc.client_callback import verify_payment
from order_svc.domain import CreateOrder, InitiatePayment, VerifyPayment
from order_svc.handlers import Deps, create_order, initiate_payment
from order_svc.payment_trail import payment_events
from order_svc.refund_views import RefundView, amount_refunded
from order_svc.refunds import get_order_with_refunds, refund_json
from order_svc.repository import Order, PaymentView
from payments_common.config import ApiKey
from payments_common.http import CORRELATION_ID, Handler, json_response, parse_model, read_json_object
from payments_common.timeutil import iso

DEPS = web.AppKey("deps", Deps)
API_KEYS = web.AppKey("api_keys", Mapping[str, ApiKey])

_PUBLIC = frozenset({"/health", "/openapi.json"})


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in _PUBLIC:
        request[MERCHANT_ID] = authenticate(request.headers.get("Authorization"), request.app[API_KEYS])
    return await handler(request)


def _payment_json(view: PaymentView, refunds: Sequence[RefundView] = ()) -> dict[str, Any]:
    """`refunds`: the order's refunds; the attempt shows its own, oldest first, and what they take from it."""
    mine = [refund for refund in refunds if refund.payment_id == view.id]
    return {
        "id": view.id,
        "orderId": view.order_id,
        "status": view.status,
        "amount": view.amount,
        "currency": view.currency,
        "signature": view.signature,
        "gatewayPaymentId": view.gateway_payment_id,
        "errorCode": view.error_code,
        "errorDescription": view.error_description,
        "method": view.method,
        "createdAt": iso(view.created_at),
        "updatedAt": iso(view.updated_at),
        "amountRefunded": amount_refunded(mine, view.id),
        "refunds": [refund_json(refund) for refund in mine],
    }


def _customer_json(order: Order) -> dict[str, str] | None:
    if order.customer_email is None or order.customer_name is None:
        return None
    return {"email": order.customer_email, "name": order.customer_name}


def _order_json(order: Order, payments: list[PaymentView], refunds: Sequence[RefundView] = ()) -> dict[str, Any]:
    attempts = [_payment_json(view, refunds) for view in payments]
    return {
        "id": order.id,
        "amount": order.amount,
        "currency": order.currency,
        "status": order.status,
        "receipt": order.receipt,
        "notes": order.notes if order.notes is not None else {},
        "customer": _customer_json(order),
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "payment": attempts[-1] if attempts else None,
        "payments": attempts,
    }


async def post_order(request: web.Request) -> web.Response:
    cmd = parse_model(CreateOrder, await read_json_object(request))
    order = await create_order(request.app[DEPS], merchant_of(request), cmd, request.get(idempotency.REQUEST_ID))
    body: dict[str, Any] = {
        "orderId": order.id,
        "amount": order.amount,
        "currency": order.currency,
        "status": order.status,
    }
    if order.receipt is not None:
        body["receipt"] = order.receipt
    if order.notes is not None:
        body["notes"] = order.notes
    body["customer"] = _customer_json(order)
    body["createdAt"] = iso(order.created_at)
    return json_response(body, status=201)


async def read_order(request: web.Request) -> web.Response:
    found = await get_order_with_refunds(request.app[DEPS], merchant_of(request), request.match_info["order_id"])
    return json_response(_order_json(*found))


async def post_initiate(request: web.Request) -> web.Response:
    cmd = parse_model(InitiatePayment, await read_json_object(request))
    payment = await initiate_payment(
        request.app[DEPS], merchant_of(request), cmd, request.get(CORRELATION_ID), request.get(idempotency.REQUEST_ID)
    )
    return json_response(
        {
            "paymentId": payment.id,
            "orderId": payment.orderId,
            "gatewayPaymentId": payment.gatewayPaymentId,
            "signature": payment.signature,
            "status": payment.status,
            # the summary payment-svc kept, never the card the client sent
            "method": payment.method,
        },
        status=201,
    )


async def read_payment_events(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    events = await payment_events(request.app[DEPS], merchant_of(request), payment_id)
    return json_response({"paymentId": payment_id, "events": events})


async def post_verify(request: web.Request) -> web.Response:
    cmd = parse_model(VerifyPayment, await read_json_object(request))
    verified = await verify_payment(request.app[DEPS], merchant_of(request), cmd)
    return json_response(
        {
            "verified": True,
            "orderId": verified.order_id,
            "paymentId": verified.payment_id,
            "gatewayPaymentId": verified.gateway_payment_id,
            "status": verified.status,
            "orderStatus": verified.order_status,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/orders", post_order)
    app.router.add_get("/orders/{order_id}", read_order)
    app.router.add_post("/payments/initiate", post_initiate)
    app.router.add_post("/payments/verify", post_verify)
    app.router.add_get("/payments/{payment_id}/events", read_payment_events)
    receipts.add_route(app, DEPS)
    refund_http.add_routes(app, DEPS)
    openapi.add_route(app)
