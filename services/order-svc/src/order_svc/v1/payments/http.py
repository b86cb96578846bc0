"""/v1 payments' views."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.http import credential_of, merchant_of
from order_svc.deps import DEPS
from order_svc.idempotency.http import REQUEST_ID
from order_svc.v1.http import collection, list_page
from order_svc.v1.payments import schemas, service
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.openapi import Route, model_response


async def post_create_json(request: web.Request) -> web.Response:
    cmd = parse_model(schemas.CreatePaymentJson, await read_json_object(request))
    created = await service.create_json(
        request.app[DEPS], merchant_of(request), cmd, request.get(CORRELATION_ID), request.get(REQUEST_ID)
    )
    return model_response(created)


async def get_payment(request: web.Request) -> web.Response:
    payment = await service.fetch(request.app[DEPS], merchant_of(request), request.match_info["payment_id"])
    return model_response(payment)


async def get_payments(request: web.Request) -> web.Response:
    items = await service.list_payments(request.app[DEPS], merchant_of(request), list_page(request))
    return collection(schemas.PaymentCollection, items)


async def patch_payment(request: web.Request) -> web.Response:
    cmd = parse_model(schemas.EditPayment, await read_json_object(request))
    payment = await service.edit_notes(
        request.app[DEPS], merchant_of(request), request.match_info["payment_id"], cmd.notes
    )
    return model_response(payment)


async def get_checkout(request: web.Request) -> web.Response:
    # signed, as Razorpay does, with the secret of the key that asks: the one the merchant verifies with
    credential = credential_of(request)
    merchant_id, secret = credential.merchant_id, credential.secret.get_secret_value()
    answer = await service.checkout(request.app[DEPS], merchant_id, secret, request.match_info["payment_id"])
    return model_response(answer)


async def post_capture(request: web.Request) -> web.Response:
    cmd = parse_model(schemas.CapturePaymentV1, await read_json_object(request))
    payment = await service.capture(
        request.app[DEPS], merchant_of(request), request.match_info["payment_id"], cmd, request.get(CORRELATION_ID)
    )
    return model_response(payment)


ROUTES = [
    Route("POST", "/v1/payments/create/json", post_create_json, schemas.PaymentCreated),
    Route("GET", "/v1/payments", get_payments, schemas.PaymentCollection),
    Route("GET", "/v1/payments/{payment_id}", get_payment, schemas.PaymentEntity),
    Route("PATCH", "/v1/payments/{payment_id}", patch_payment, schemas.PaymentEntity),
    Route("GET", "/v1/payments/{payment_id}/checkout", get_checkout, schemas.CheckoutResponse),
    Route("POST", "/v1/payments/{payment_id}/capture", post_capture, schemas.PaymentEntity),
]
