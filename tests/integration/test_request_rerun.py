"""A client request run again after the process running it died: the attempt or refund the first run
created is answered, nothing is created twice. (The idempotency key's request id reaches payment-svc
as `request_id`.)"""

from __future__ import annotations

import uuid

import pytest

from payment_svc.attempts.domain import PaymentStatus
from payment_svc.attempts.repository import PaymentRepository
from payment_svc.attempts.service import InitiatePayment, initiate_payment
from payment_svc.refunds.service import CreateRefund, create_refund
from payments_common import ids
from payments_common.errors import ApiError
from payments_common.uow import UnitOfWork

from .test_reconciler import FAILURE, World, world

pytestmark = pytest.mark.integration

__all__ = ["world"]


def _initiate(order_id: str, request_id: uuid.UUID | None) -> InitiatePayment:
    return InitiatePayment(
        order_id=order_id, merchant_id="m_1", amount=1500, currency="INR", method=FAILURE, request_id=request_id
    )


async def _attempts(world: World, order_id: str) -> int:
    return int(await world.pool.fetchval("SELECT count(*) FROM payments WHERE order_id = $1", order_id))


async def _at_gateway(world: World, order_id: str) -> int:
    return int(await world.gateway_db.fetchval("SELECT count(*) FROM payments WHERE order_id = $1", order_id))


async def test_a_rerun_answers_the_attempt_its_first_run_started(world: World) -> None:
    order_id = ids.new_id(ids.ORDER)
    request_id = uuid.uuid4()
    first = await initiate_payment(world.deps, _initiate(order_id, request_id))
    # the attempt failed meanwhile, which would let a new request start another one
    async with UnitOfWork(world.pool) as uow:
        await PaymentRepository(uow.conn).settle(first.id, PaymentStatus.FAILED, "UPI_DECLINED", "declined", "webhook")

    again = await initiate_payment(world.deps, _initiate(order_id, request_id))
    assert again.id == first.id
    assert again.status is PaymentStatus.FAILED
    assert await _attempts(world, order_id) == 1
    assert await _at_gateway(world, order_id) == 1

    # another request (or none) starts a new attempt, as it should
    other = await initiate_payment(world.deps, _initiate(order_id, uuid.uuid4()))
    assert other.id != first.id
    assert await _attempts(world, order_id) == 2
    assert await _at_gateway(world, order_id) == 2


async def test_a_request_id_belongs_to_one_order(world: World) -> None:
    request_id = uuid.uuid4()
    mine = await initiate_payment(world.deps, _initiate(ids.new_id(ids.ORDER), request_id))
    # a request id names one request, for one order (the key's fingerprint holds the order id): it is never
    # answered with another order's attempt, and the unique index refuses its reuse
    with pytest.raises(Exception, match="payments_one_per_request"):
        await initiate_payment(world.deps, _initiate(ids.new_id(ids.ORDER), request_id))
    assert await world.pool.fetchval("SELECT count(*) FROM payments WHERE request_id = $1", request_id) == 1
    assert mine.status is PaymentStatus.INITIATED


async def test_a_rerun_answers_the_refund_its_first_run_created(world: World) -> None:
    payment = await initiate_payment(world.deps, _initiate(ids.new_id(ids.ORDER), None))
    async with UnitOfWork(world.pool) as uow:
        await PaymentRepository(uow.conn).settle(payment.id, PaymentStatus.SUCCESS, None, None, "webhook")
    request_id = uuid.uuid4()

    def everything_left(request: uuid.UUID | None) -> CreateRefund:
        return CreateRefund(payment_id=payment.id, merchant_id="m_1", amount=None, notes=None, request_id=request)

    first = await create_refund(world.deps, everything_left(request_id))
    assert first.amount == 1500
    # run again, it answers that refund: not a 400 for nothing left, and certainly not a second refund
    again = await create_refund(world.deps, everything_left(request_id))
    assert again.id == first.id
    refunds = await world.pool.fetchval("SELECT count(*) FROM refunds WHERE payment_id = $1", payment.id)
    assert refunds == 1
    assert await world.pool.fetchval("SELECT amount_refunded FROM payments WHERE id = $1", payment.id) == 1500
    # a new request finds nothing left to refund
    with pytest.raises(ApiError) as refused:
        await create_refund(world.deps, everything_left(uuid.uuid4()))
    assert (refused.value.status, refused.value.field) == (400, "amount")
