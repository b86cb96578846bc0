"""payment-svc's internal HTTP API of payment attempts, called by order-svc. Views parse and answer; the
service decides.

Every route under `/internal/` (the refunds' too) needs order-svc's bearer token, `INTERNAL_API_TOKEN`:
the network alone is not the credential, so a process that can reach the port cannot create payments.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from payment_svc.attempts.capture import CapturePayment, capture_payment
from payment_svc.attempts.messages import snapshot
from payment_svc.attempts.schemas import CaptureBody, InitiateBody, PaymentTrail
from payment_svc.attempts.service import Deps, InitiatePayment, get_payment, get_payment_events, initiate_payment
from payments_common.admin_api.payments import TrailEntry
from payments_common.bearer import bearer_middleware
from payments_common.errors import NOT_FOUND, ApiError
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.openapi import model_response
from payments_common.records import model_of

DEPS = web.AppKey("deps", Deps)
PREFIX = "/internal/"


def payment_not_found() -> ApiError:
    return ApiError(404, NOT_FOUND, "payment not found")


async def create_payment(request: web.Request) -> web.Response:
    body = parse_model(InitiateBody, await read_json_object(request))
    payment = await initiate_payment(
        request.app[DEPS],
        InitiatePayment(
            order_id=body.orderId,
            merchant_id=body.merchantId,
            amount=body.amount,
            currency=body.currency,
            method=body.method,
            correlation_id=request.get(CORRELATION_ID),
            request_id=body.requestId,
            manual_capture=body.manualCapture,
        ),
    )
    return model_response(snapshot(payment), status=201)


async def post_capture(request: web.Request) -> web.Response:
    body = parse_model(CaptureBody, await read_json_object(request))
    payment = await capture_payment(
        request.app[DEPS],
        CapturePayment(
            payment_id=request.match_info["payment_id"],
            merchant_id=body.merchantId,
            amount=body.amount,
            currency=body.currency,
            correlation_id=request.get(CORRELATION_ID),
        ),
    )
    return model_response(snapshot(payment))


async def read_payment(request: web.Request) -> web.Response:
    payment = await get_payment(request.app[DEPS], request.match_info["payment_id"])
    if payment is None:
        raise payment_not_found()
    return model_response(snapshot(payment))


async def read_payment_events(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    trail = await get_payment_events(request.app[DEPS], payment_id)
    if trail is None:
        raise payment_not_found()
    return model_response(PaymentTrail(paymentId=payment_id, events=[model_of(TrailEntry, event) for event in trail]))


def add_routes(app: web.Application, tokens: Sequence[bytes]) -> None:
    """The routes, and the token check in front of the whole prefix: any of `tokens` is accepted. Checked
    after the body middleware, so the input limits answer (413, 408) as on every other route."""
    app.middlewares.append(bearer_middleware(PREFIX, tokens, api="internal", setting="INTERNAL_API_TOKEN"))
    app.router.add_post("/internal/payments", create_payment)
    app.router.add_get("/internal/payments/{payment_id}", read_payment)
    app.router.add_get("/internal/payments/{payment_id}/events", read_payment_events)
    app.router.add_post("/internal/payments/{payment_id}/capture", post_capture)
