"""The gateway's API: create a payment (idempotent on `paymentId`) and read one back."""

from __future__ import annotations

from aiohttp import web

from mock_gateway.schemas import CreatePaymentRequest
from mock_gateway.settlement import Settlement
from mock_gateway.store import GatewayPayment, PaymentStore
from payments_common import ids
from payments_common.errors import NOT_FOUND, ApiError
from payments_common.http import CORRELATION_ID, json_response, parse_model, read_json_object
from payments_common.logging import bound, get_logger
from payments_common.signatures import payment_signature

log = get_logger(__name__)

STORE = web.AppKey("store", PaymentStore)
SETTLEMENT = web.AppKey("settlement", Settlement)
PAYMENT_SIGNING_KEY = web.AppKey("payment_signing_key", bytes)

IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"


def _same_request(payment: GatewayPayment, request: CreatePaymentRequest) -> bool:
    return (payment.order_id, payment.amount, payment.currency) == (
        request.order_id,
        request.amount,
        request.currency,
    )


async def create_payment(request: web.Request) -> web.Response:
    body = parse_model(CreatePaymentRequest, await read_json_object(request))
    store = request.app[STORE]
    with bound(order_id=body.order_id, payment_id=body.payment_id):
        # no await between this lookup and `store.add` below, so two concurrent creates of one
        # paymentId cannot both pass it
        existing = store.find_by_payment_id(body.payment_id)
        if existing is not None:
            if not _same_request(existing, body):
                log.warning("gateway_payment.conflict", gateway_payment_id=existing.id)
                raise ApiError(
                    409, IDEMPOTENCY_CONFLICT, "paymentId was used before with another orderId, amount or currency"
                )
            log.info("gateway_payment.replayed", gateway_payment_id=existing.id)
            return json_response(existing.to_json(), status=200)

        gateway_payment_id = ids.new_id(ids.GATEWAY_PAYMENT)
        payment = GatewayPayment(
            id=gateway_payment_id,
            payment_id=body.payment_id,
            order_id=body.order_id,
            amount=body.amount,
            currency=body.currency,
            method=body.method,
            signature=payment_signature(request.app[PAYMENT_SIGNING_KEY], body.order_id, gateway_payment_id),
        )
        store.add(payment)
        outcome = request.app[SETTLEMENT].schedule(payment, request[CORRELATION_ID])
        log.info("gateway_payment.created", gateway_payment_id=payment.id, outcome=outcome.value)
    return json_response(payment.to_json(), status=201)


async def get_payment(request: web.Request) -> web.Response:
    payment = request.app[STORE].get(request.match_info["gateway_payment_id"])
    if payment is None:
        raise ApiError(404, NOT_FOUND, "no such gateway payment")
    return json_response(payment.to_json())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/payments", create_payment)
    app.router.add_get("/v1/payments/{gateway_payment_id}", get_payment)
