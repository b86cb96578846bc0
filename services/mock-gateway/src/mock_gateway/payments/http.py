"""The gateway's payment API: create a payment (idempotent on `paymentId`) and read one back."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mock_gateway.delivery.faults import canonical, requested_faults
from mock_gateway.http import (
    IDEMPOTENCY_CONFLICT,
    PAYMENT_SIGNING_KEY,
    PLANNER,
    POOL,
    WORKER,
    add_record_routes,
    replays,
    shown,
)
from mock_gateway.payments import repository
from mock_gateway.payments.domain import (
    AUTHORIZED,
    SAVED_PREFIX,
    VOIDED,
    Decision,
    NewPayment,
    authorised_only,
    capture_refusal,
    decide,
    decide_token,
    saved_payment_id,
)
from mock_gateway.payments.schemas import CapturePaymentRequest, CreatePaymentRequest, TokenSwitch, VoidPaymentRequest
from payments_common import ids
from payments_common.errors import NOT_FOUND, ApiError
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.logging import bound, get_logger
from payments_common.methods import summary_or_none
from payments_common.signatures import payment_signature

log = get_logger(__name__)

# a capture or void of a payment in a status that allows neither (or of another amount)
NOT_AUTHORIZED = "PAYMENT_NOT_AUTHORIZED"


async def _decide(app: web.Application, method: dict[str, Any] | None) -> Decision:
    """A token charge is decided by the payment it was saved from; every other method by its test value."""
    saved_id = saved_payment_id(method)
    if saved_id is None:
        return decide(method)
    assert method is not None
    status, declines = await repository.token_state(app[POOL], str(method["token"]), saved_id)
    return decide_token(status, declines)


async def switch_token(request: web.Request) -> web.Response:
    """`PUT /v1/test/tokens/{token}` `{"declines": true|false}`: a test makes the token's charges decline
    (or succeed again). A test double's control, as the test values are."""
    body = parse_model(TokenSwitch, await read_json_object(request))
    token = request.match_info["token"]
    if not token.startswith(SAVED_PREFIX) or len(token) > 100:
        raise ApiError(404, NOT_FOUND, "no such token")
    await repository.switch_token(request.app[POOL], token, body.declines)
    log.info("gateway_token.switched", declines=body.declines)
    return web.json_response({"token": token, "declines": body.declines})


async def create_payment(request: web.Request) -> web.Response:
    body = parse_model(CreatePaymentRequest, await read_json_object(request))
    app = request.app
    with bound(order_id=body.order_id, payment_id=body.payment_id):
        gateway_payment_id = ids.new_id(ids.GATEWAY_PAYMENT)
        # decided on the whole method (a card's number picks the outcome); only its summary is kept
        decision = authorised_only(await _decide(app, body.method), body.capture)
        new = NewPayment(
            id=gateway_payment_id,
            payment_id=body.payment_id,
            order_id=body.order_id,
            amount=body.amount,
            currency=body.currency,
            method=summary_or_none(body.method),
            signature=payment_signature(app[PAYMENT_SIGNING_KEY], body.order_id, gateway_payment_id),
            decline=decision.decline,
        )
        outcome = decision.outcome
        plan = app[PLANNER].plan(outcome, requested_faults(body.method))
        payment, created = await repository.create_payment(app[POOL], new, plan, request[CORRELATION_ID])
        if not created:
            if not replays(payment, body, ("order_id", "amount", "currency")):
                log.warning("gateway_payment.conflict", gateway_payment_id=payment.id)
                raise ApiError(
                    409, IDEMPOTENCY_CONFLICT, "paymentId was used before with another orderId, amount or currency"
                )
            log.info("gateway_payment.replayed", gateway_payment_id=payment.id)
            return shown(payment)
        app[WORKER].poke()
        log.info(
            "gateway_payment.created",
            gateway_payment_id=payment.id,
            outcome=outcome.value,
            faults=canonical(plan.faults),
            deliveries=len(plan.deliveries),
        )
    return shown(payment, status=201)


async def capture_payment(request: web.Request) -> web.Response:
    """Capture an authorised payment; a captured one answers as it is (idempotent), anything else is a 409."""
    body = parse_model(CapturePaymentRequest, await read_json_object(request))
    gateway_payment_id = request.match_info["gateway_payment_id"]
    async with request.app[POOL].acquire() as conn, conn.transaction():
        payment = await repository.lock_payment(conn, gateway_payment_id)
        if payment is None:
            raise ApiError(404, NOT_FOUND, "no such gateway payment")
        refusal = capture_refusal(payment.status, payment.amount, payment.currency, body.amount, body.currency)
        if refusal is not None:
            raise ApiError(409, NOT_AUTHORIZED, refusal)
        if payment.status == AUTHORIZED:
            payment = await repository.capture(conn, gateway_payment_id)
            log.info("gateway_payment.captured", gateway_payment_id=gateway_payment_id)
    return shown(payment)


async def void_payment(request: web.Request) -> web.Response:
    """Void an authorised payment; a voided one answers as it is (idempotent), anything else is a 409."""
    body = parse_model(VoidPaymentRequest, await read_json_object(request))
    gateway_payment_id = request.match_info["gateway_payment_id"]
    async with request.app[POOL].acquire() as conn, conn.transaction():
        payment = await repository.lock_payment(conn, gateway_payment_id)
        if payment is None:
            raise ApiError(404, NOT_FOUND, "no such gateway payment")
        if payment.status not in (AUTHORIZED, VOIDED):
            raise ApiError(409, NOT_AUTHORIZED, f"the payment is {payment.status}, not authorized")
        if payment.status == AUTHORIZED:
            payment = await repository.void(conn, gateway_payment_id, body.error_code, body.error_description)
            log.info("gateway_payment.voided", gateway_payment_id=gateway_payment_id)
    return shown(payment)


def add_routes(app: web.Application) -> None:
    add_record_routes(
        app,
        "/v1/payments",
        "gateway payment",
        create_payment,
        get=repository.get_payment,
        id_key="gateway_payment_id",
        find=repository.find_by_payment_id,
        caller_id="paymentId",
    )
    app.router.add_post("/v1/payments/{gateway_payment_id}/capture", capture_payment)
    app.router.add_post("/v1/payments/{gateway_payment_id}/void", void_payment)
    app.router.add_put("/v1/test/tokens/{token}", switch_token)
