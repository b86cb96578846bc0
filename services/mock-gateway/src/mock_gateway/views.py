"""The gateway's API: create a payment (idempotent on `paymentId`) and read one back, as refunds are read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import asyncpg
from aiohttp import web

from mock_gateway import repository
from mock_gateway.faults import canonical, requested_faults
from mock_gateway.outcomes import decide
from mock_gateway.plan import Planner
from mock_gateway.records import GatewayPayment, NewPayment
from mock_gateway.schemas import CreatePaymentRequest
from mock_gateway.worker import DeliveryWorker
from payments_common import ids
from payments_common.errors import NOT_FOUND, ApiError, bad_request
from payments_common.http import CORRELATION_ID, json_response, parse_model, read_json_object
from payments_common.logging import bound, get_logger
from payments_common.methods import summary_or_none
from payments_common.signatures import payment_signature

log = get_logger(__name__)

POOL = web.AppKey("pool", asyncpg.Pool)
WORKER = web.AppKey("worker", DeliveryWorker)
PLANNER = web.AppKey("planner", Planner)
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
            if not _same_request(payment, body):
                log.warning("gateway_payment.conflict", gateway_payment_id=payment.id)
                raise ApiError(
                    409, IDEMPOTENCY_CONFLICT, "paymentId was used before with another orderId, amount or currency"
                )
            log.info("gateway_payment.replayed", gateway_payment_id=payment.id)
            return json_response(payment.to_json(), status=200)
        app[WORKER].poke()
        log.info(
            "gateway_payment.created",
            gateway_payment_id=payment.id,
            outcome=outcome.value,
            faults=canonical(plan.faults),
            deliveries=len(plan.deliveries),
        )
    return json_response(payment.to_json(), status=201)


class _Shown(Protocol):
    def to_json(self) -> dict[str, Any]: ...


# a repository lookup: the gateway's record under one id, or None
Lookup = Callable[[asyncpg.Pool, str], Awaitable[_Shown | None]]
Handler = Callable[[web.Request], Awaitable[web.Response]]


def read_by_id(lookup: Lookup, match_key: str, missing: str) -> Handler:
    """`GET /v1/<records>/{id}`: a record by the gateway's own id."""

    async def read(request: web.Request) -> web.Response:
        return _shown(await lookup(request.app[POOL], request.match_info[match_key]), missing)

    return read


def find_by_caller_id(lookup: Lookup, param: str, missing: str) -> Handler:
    """`GET /v1/<records>?<param>=…`: for a caller that never learned the gateway's id (it crashed mid-create)."""

    async def find(request: web.Request) -> web.Response:
        value = request.query.get(param, "").strip()
        if not value:
            raise bad_request(f"{param}: the query parameter is required", param)
        return _shown(await lookup(request.app[POOL], value), missing)

    return find


def _shown(record: _Shown | None, missing: str) -> web.Response:
    if record is None:
        raise ApiError(404, NOT_FOUND, missing)
    return json_response(record.to_json())


get_payment = read_by_id(repository.get_payment, "gateway_payment_id", "no such gateway payment")
find_payment = find_by_caller_id(repository.find_by_payment_id, "paymentId", "no gateway payment for this paymentId")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/payments", create_payment)
    app.router.add_get("/v1/payments", find_payment)
    app.router.add_get("/v1/payments/{gateway_payment_id}", get_payment)
