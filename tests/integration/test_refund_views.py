"""order-svc's refund views on the real PostgreSQL: kept from payment-svc's snapshots (the newest version
wins, whatever order they arrive in, each message applied once), never moving the order, and listed by
`RefundViewRepository.of_order` oldest first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from order_svc.deps import Deps
from order_svc.orders.domain import OrderStatus
from order_svc.orders.repository import OrderRepository
from order_svc.payments.repository import PaymentViewRepository
from order_svc.refunds.repository import RefundViewRepository
from order_svc.refunds.service import apply_refund_event
from payments_common import events, ids
from payments_common.errors import PermanentError, RetryableError
from payments_common.events import PaymentSnapshot, RefundSnapshot
from payments_common.timeutil import utcnow

from .conftest import migrated_schema

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "payments_common", "order_svc", size=4) as (_, pool):
        yield pool


@pytest.fixture
def deps(pool: asyncpg.Pool) -> Deps:
    return Deps(pool=pool, payments=None)  # type: ignore[arg-type]


async def paid_order(pool: asyncpg.Pool) -> tuple[str, str]:
    """A PAID order and its SUCCESS attempt, as the payment events would have left them."""
    order_id, payment_id = ids.new_id(ids.ORDER), ids.new_id(ids.PAYMENT)
    async with pool.acquire() as conn:
        repo = OrderRepository(conn)
        await repo.insert(order_id, "m_1", 1000, "INR", None, None)
        now = utcnow()
        await PaymentViewRepository(conn).upsert(
            PaymentSnapshot(
                id=payment_id,
                orderId=order_id,
                merchantId="m_1",
                amount=1000,
                currency="INR",
                status="SUCCESS",
                version=3,
                createdAt=now,
                updatedAt=now,
            )
        )
        await repo.move(order_id, OrderStatus.PAID)
    return order_id, payment_id


def snapshot(order_id: str, payment_id: str, version: int, status: str, **changes: Any) -> RefundSnapshot:
    now = utcnow()
    values: dict[str, Any] = {
        "id": ids.new_id(ids.REFUND),
        "paymentId": payment_id,
        "orderId": order_id,
        "merchantId": "m_1",
        "amount": 300,
        "currency": "INR",
        "status": status,
        "version": version,
        "createdAt": now,
        "updatedAt": now,
        **changes,
    }
    return RefundSnapshot(**values)


def event(refund: RefundSnapshot) -> events.RefundEvent:
    kind = "refund.created" if refund.version == 1 else "refund.updated"
    return events.RefundEvent(type=kind, refund=refund)  # type: ignore[arg-type]


async def test_the_newest_snapshot_wins_whatever_order_they_arrive_in(deps: Deps) -> None:
    order_id, payment_id = await paid_order(deps.pool)
    created = snapshot(order_id, payment_id, 1, "PENDING", notes={"reason": "late"})
    processed = created.model_copy(update={"status": "PROCESSED", "version": 2, "updatedAt": utcnow()})
    # the update overtakes the creation, and a message is delivered twice
    await apply_refund_event(deps, "m-2", event(processed))
    await apply_refund_event(deps, "m-1", event(created))
    await apply_refund_event(deps, "m-2", event(processed))
    async with deps.pool.acquire() as conn:
        [view] = await RefundViewRepository(conn).of_order(order_id)
        order = await OrderRepository(conn).get(order_id, "m_1")
    assert (view.id, view.status, view.version, view.notes, view.payment_id) == (
        created.id,
        "PROCESSED",
        2,
        {"reason": "late"},
        payment_id,
    )
    assert order is not None and order.status == "PAID"
    claims = await deps.pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'order-svc.refund-events'")
    assert claims == 2


async def test_the_order_lists_its_refunds_oldest_first(deps: Deps) -> None:
    order_id, payment_id = await paid_order(deps.pool)
    now = utcnow()
    later = snapshot(order_id, payment_id, 1, "PENDING", createdAt=now + timedelta(seconds=1))
    earlier = snapshot(order_id, payment_id, 1, "FAILED", createdAt=now)
    for n, refund in enumerate((later, earlier)):
        await apply_refund_event(deps, f"m-{n}", event(refund))
    async with deps.pool.acquire() as conn:
        listed = await RefundViewRepository(conn).of_order(order_id)
    assert [r.id for r in listed] == [earlier.id, later.id]


async def test_a_refund_of_an_unknown_order_is_permanent_and_of_an_unseen_payment_retried(deps: Deps) -> None:
    order_id, _ = await paid_order(deps.pool)
    with pytest.raises(PermanentError):
        await apply_refund_event(
            deps, "m-1", event(snapshot(ids.new_id(ids.ORDER), ids.new_id(ids.PAYMENT), 1, "PENDING"))
        )
    with pytest.raises(RetryableError):
        await apply_refund_event(deps, "m-2", event(snapshot(order_id, ids.new_id(ids.PAYMENT), 1, "PENDING")))
    # neither claimed its message: a retry finds it free
    assert await deps.pool.fetchval("SELECT count(*) FROM inbox") == 0
