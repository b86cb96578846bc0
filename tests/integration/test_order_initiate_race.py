"""order-svc writes a new attempt into its view before answering initiate (read-your-writes), while its
consumer may be applying that very attempt's `payment.initiated` event: the two must not deadlock.

Found by the fuzzing tier: an initiate answered 500 with PostgreSQL's `deadlock detected`, the view
row insert (whose foreign key takes the order's key-share lock last) crossing the consumer's
`SELECT … FOR UPDATE` of the order followed by its upsert of the same view row.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from order_svc.deps import Deps
from order_svc.orders.schemas import CreateOrder
from order_svc.orders.service import create_order
from order_svc.payments.repository import PaymentViewRepository
from order_svc.payments.schemas import InitiatePayment
from order_svc.payments.service import apply_payment_event, initiate_payment
from payments_common import events, ids
from payments_common.timeutil import utcnow

from .conftest import migrated_schema

pytestmark = pytest.mark.integration

ROUNDS = 60


class RacingPayments:
    """Stands in for `PaymentsClient`: answers the attempt, and hands the consumer that attempt's
    `payment.initiated` at the same moment, as payment-svc's relay may."""

    def __init__(self) -> None:
        self.deps: Deps | None = None
        self.consumers: list[asyncio.Task[None]] = []

    async def initiate(
        self, order_id: str, merchant_id: str, amount: int, currency: str, *_: Any, **__: Any
    ) -> events.PaymentSnapshot:
        assert self.deps is not None
        now = utcnow()
        snapshot = events.PaymentSnapshot(
            id=ids.new_id(ids.PAYMENT),
            orderId=order_id,
            merchantId=merchant_id,
            amount=amount,
            currency=currency,
            status="INITIATED",
            gatewayPaymentId=ids.new_id(ids.GATEWAY_PAYMENT),
            signature="ab" * 32,
            version=2,
            createdAt=now,
            updatedAt=now,
        )
        event = events.PaymentEvent(type="payment.initiated", payment=snapshot)
        self.consumers.append(asyncio.create_task(apply_payment_event(self.deps, f"msg_{snapshot.id}", event)))
        await asyncio.sleep(0)  # let the consumer start its transaction first
        return snapshot


@pytest.fixture
async def order_pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "payments_common", "order_svc", size=8) as (_, pool):
        yield pool


async def test_initiate_and_the_consumer_writing_the_same_attempt_never_deadlock(order_pool: asyncpg.Pool) -> None:
    payments = RacingPayments()
    deps = Deps(pool=order_pool, payments=payments)  # type: ignore[arg-type]
    payments.deps = deps
    for _ in range(ROUNDS):
        order = await create_order(deps, "m_1", CreateOrder(amount=1500, currency="INR"))
        payment = await initiate_payment(deps, "m_1", InitiatePayment(orderId=order.id), None)
        await asyncio.gather(*payments.consumers)  # a deadlock surfaces here or in initiate_payment
        payments.consumers.clear()
        row = await order_pool.fetchrow("SELECT status, version FROM payment_views WHERE id = $1", payment.id)
        assert (row["status"], row["version"]) == ("INITIATED", 2)
        # handled either way (applied, or found already held): the inbox records it, once
        claims = await order_pool.fetchval("SELECT count(*) FROM inbox WHERE message_id = $1", f"msg_{payment.id}")
        assert claims == 1


async def test_the_one_statement_keep_of_an_initiated_attempt_lets_only_a_newer_snapshot_in(
    order_pool: asyncpg.Pool,
) -> None:
    deps = Deps(pool=order_pool, payments=RacingPayments())  # type: ignore[arg-type]
    order = await create_order(deps, "m_1", CreateOrder(amount=1500, currency="INR"))
    now = utcnow()
    first = events.PaymentSnapshot(
        id=ids.new_id(ids.PAYMENT),
        orderId=order.id,
        merchantId="m_1",
        amount=1500,
        currency="INR",
        status="INITIATED",
        version=2,
        createdAt=now,
        updatedAt=now,
    )
    async with order_pool.acquire() as conn:
        views = PaymentViewRepository(conn)
        assert await views.lock_order_and_upsert(first)
        assert not await views.lock_order_and_upsert(first)  # the same version again changes nothing
        failed = first.model_copy(update={"status": "FAILED", "version": 3})
        assert await views.upsert(failed) is not None
        assert not await views.lock_order_and_upsert(first)  # an older one never goes back in
        row = await conn.fetchrow("SELECT status, version FROM payment_views WHERE id = $1", first.id)
        assert (row["status"], row["version"]) == ("FAILED", 3)
        # no order, no row: the statement writes the view only under its order's lock
        orphan = first.model_copy(update={"id": ids.new_id(ids.PAYMENT), "orderId": ids.new_id(ids.ORDER)})
        assert not await views.lock_order_and_upsert(orphan)
        assert not await views.known(orphan.id)
