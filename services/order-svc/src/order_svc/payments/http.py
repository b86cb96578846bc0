"""The payments' views: parse the request, call the use case, answer the model the document describes."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.idempotency.http import REQUEST_ID
from order_svc.payments.schemas import (
    CapturePayment,
    InitiatePayment,
    PaymentAttempt,
    PaymentInitiated,
    PaymentLog,
    PaymentVerified,
    VerifyPayment,
)
from order_svc.payments.service import capture_payment, initiate_payment, payment_trail, verify_payment
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.openapi import Route, model_response


async def post_initiate(request: web.Request) -> web.Response:
    cmd = parse_model(InitiatePayment, await read_json_object(request))
    payment = await initiate_payment(
        request.app[DEPS], merchant_of(request), cmd, request.get(CORRELATION_ID), request.get(REQUEST_ID)
    )
    return model_response(PaymentInitiated.of(payment), status=201)


async def post_verify(request: web.Request) -> web.Response:
    cmd = parse_model(VerifyPayment, await read_json_object(request))
    return model_response(await verify_payment(request.app[DEPS], merchant_of(request), cmd))


async def get_payment_events(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    trail = await payment_trail(request.app[DEPS], merchant_of(request), payment_id)
    return model_response(PaymentLog(paymentId=payment_id, events=trail))


async def post_capture(request: web.Request) -> web.Response:
    cmd = parse_model(CapturePayment, await read_json_object(request))
    view = await capture_payment(
        request.app[DEPS],
        merchant_of(request),
        request.match_info["payment_id"],
        cmd.amount,
        cmd.currency,
        request.get(CORRELATION_ID),
    )
    return model_response(PaymentAttempt.of(view))


ROUTES = [
    Route("POST", "/payments/initiate", post_initiate, PaymentInitiated, status=201),
    Route("POST", "/payments/verify", post_verify, PaymentVerified),
    Route("GET", "/payments/{payment_id}/events", get_payment_events, PaymentLog),
    Route("POST", "/payments/{payment_id}/capture", post_capture, PaymentAttempt),
]
