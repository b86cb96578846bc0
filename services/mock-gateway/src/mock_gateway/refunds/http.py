"""The gateway's refund API: refund a captured payment (idempotent on `refundId`) and read a refund back.

The payment's row lock decides concurrent refunds one at a time, and its refunds that have not failed
may never add up to more than it captured: the same rule the merchant's side keeps, held here on the
gateway's own records, as a real gateway would refuse an over-refund whatever the merchant sent.
"""

from __future__ import annotations

from aiohttp import web

from mock_gateway.http import IDEMPOTENCY_CONFLICT, PLANNER, POOL, WORKER, add_record_routes, replays, shown
from mock_gateway.payments.domain import CAPTURED
from mock_gateway.refunds import repository
from mock_gateway.refunds.domain import NewRefund, refund_outcome
from mock_gateway.refunds.schemas import CreateRefundRequest
from payments_common import ids
from payments_common.errors import NOT_FOUND, ApiError, bad_request
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.logging import bound, get_logger

log = get_logger(__name__)

PAYMENT_NOT_CAPTURED = "PAYMENT_NOT_CAPTURED"


async def create_refund(request: web.Request) -> web.Response:
    body = parse_model(CreateRefundRequest, await read_json_object(request))
    app = request.app
    with bound(refund_id=body.refund_id, gateway_payment_id=body.gateway_payment_id):
        async with app[POOL].acquire() as conn, conn.transaction():
            payment = await repository.lock_payment(conn, body.gateway_payment_id)
            if payment is None:
                raise ApiError(404, NOT_FOUND, "no such gateway payment")
            # read under the payment's lock: a concurrent create of the same refund has committed or not
            existing = await repository.find_refund(conn, body.refund_id)
            if existing is not None:
                if not replays(existing, body, ("gateway_payment_id", "amount", "currency")):
                    log.warning("gateway_refund.conflict", gateway_refund_id=existing.id)
                    raise ApiError(
                        409,
                        IDEMPOTENCY_CONFLICT,
                        "refundId was used before with another gatewayPaymentId, amount or currency",
                    )
                log.info("gateway_refund.replayed", gateway_refund_id=existing.id)
                return shown(existing)
            if payment.status != CAPTURED:
                raise ApiError(409, PAYMENT_NOT_CAPTURED, f"the payment is {payment.status}, not captured")
            if body.currency != payment.currency:
                raise bad_request(f"currency must be the payment's, {payment.currency}", "currency")
            left = payment.amount - payment.refunded
            if body.amount > left:
                raise bad_request(f"amount exceeds what is left to refund ({left} of {payment.amount})", "amount")
            new = NewRefund(
                id=ids.new_id(ids.GATEWAY_REFUND),
                refund_id=body.refund_id,
                gateway_payment_id=payment.id,
                payment_id=payment.payment_id,
                amount=body.amount,
                currency=body.currency,
                outcome=refund_outcome(payment.method),
            )
            refund = await repository.insert_refund(
                conn,
                new,
                event_id=app[PLANNER].new_event_id(),
                settle_after_seconds=app[PLANNER].settle_delay,
                correlation_id=request[CORRELATION_ID],
            )
        app[WORKER].poke()
        log.info("gateway_refund.created", gateway_refund_id=refund.id, amount=refund.amount, outcome=new.outcome)
    return shown(refund, status=201)


def add_routes(app: web.Application) -> None:
    add_record_routes(
        app,
        "/v1/refunds",
        "gateway refund",
        create_refund,
        get=repository.get_refund,
        id_key="gateway_refund_id",
        find=repository.find_refund,
        caller_id="refundId",
    )
