"""The gateway's payment API: create a payment (idempotent on `paymentId`) and read one back."""

from __future__ import annotations

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
from mock_gateway.payments.domain import NewPayment, decide
from mock_gateway.payments.schemas import CreatePaymentRequest
from payments_common import ids
from payments_common.errors import ApiError
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.logging import bound, get_logger
from payments_common.methods import summary_or_none
from payments_common.signatures import payment_signature

log = get_logger(__name__)


async def create_payment(request: web.Request) -> web.Response:
    body = parse_model(CreatePaymentRequest, await read_json_object(request))
    app = request.app
    with bound(order_id=body.order_id, payment_id=body.payment_id):
        gateway_payment_id = ids.new_id(ids.GATEWAY_PAYMENT)
        # decided on the whole method (a card's number picks the outcome); only its summary is kept
        decision = decide(body.method)
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
        async with app[POOL].acquire() as conn, conn.transaction():
            payment, created = await repository.create_payment(conn, new, plan, request[CORRELATION_ID])
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
