"""order-svc's merchant events on the real PostgreSQL: applying a payment or refund snapshot writes exactly
the events of the move it applies into the outbox, in the very transaction of the change; a repeated, a
redelivered or a stale snapshot applies nothing and writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from order_svc.deps import Deps
from order_svc.merchant_events.domain import event_id
from order_svc.orders.repository import OrderRepository
from order_svc.payments.service import apply_payment_event
from order_svc.refunds.service import apply_refund_event
from order_svc.v1.payments.repository import PaymentDetailsRepository
from payments_common import events, ids
from payments_common.events import MerchantEvent, PaymentSnapshot, RefundSnapshot
from payments_common.timeutil import utcnow

from .conftest import migrated_schema

pytestmark = pytest.mark.integration

MERCHANT = "merch_events_1"
AMOUNT = 1000


@pytest.fixture
async def deps(database_dsn: str) -> AsyncIterator[Deps]:
    async with migrated_schema(database_dsn, "payments_common", "order_svc", size=4) as (_, pool):
        yield Deps(pool=pool, payments=None)


async def new_order(deps: Deps, *, manual_capture: bool = False) -> str:
    order_id = ids.new_id(ids.ORDER)
    async with deps.pool.acquire() as conn:
        await OrderRepository(conn).insert(
            order_id, MERCHANT, AMOUNT, "INR", "rcpt-7", None, manual_capture=manual_capture
        )
    return order_id


class Attempt:
    """The snapshots payment-svc would publish of one attempt, version by version."""

    def __init__(self, order_id: str) -> None:
        self.order_id, self.id, self.created = order_id, ids.new_id(ids.PAYMENT), utcnow()

    def event(self, version: int, status: str, **changes: Any) -> events.PaymentEvent:
        kind = {"INITIATED": "initiated", "AUTHORIZED": "authorized", "SUCCESS": "succeeded", "FAILED": "failed"}
        snapshot = PaymentSnapshot(
            id=self.id,
            orderId=self.order_id,
            merchantId=MERCHANT,
            amount=AMOUNT,
            currency="INR",
            status=status,
            version=version,
            createdAt=self.created,
            updatedAt=self.created + timedelta(seconds=version),
            method={"type": "upi", "vpa": "success@razorpay"},
            **changes,
        )
        return events.PaymentEvent(type=f"payment.{kind[status]}", payment=snapshot)


def refund_event(order_id: str, payment_id: str, refund_id: str, version: int, status: str) -> events.RefundEvent:
    created = utcnow().replace(microsecond=0)
    snapshot = RefundSnapshot(
        id=refund_id,
        paymentId=payment_id,
        orderId=order_id,
        merchantId=MERCHANT,
        amount=300,
        currency="INR",
        status=status,
        version=version,
        createdAt=created,
        updatedAt=created + timedelta(seconds=version),
    )
    return events.RefundEvent(type="refund.created" if version == 1 else "refund.updated", refund=snapshot)


async def recorded(deps: Deps, order_id: str) -> list[MerchantEvent]:
    rows = await deps.pool.fetch(
        """SELECT payload, routing_key, exchange FROM outbox
            WHERE aggregate_id = $1 AND event_type = 'merchant.event' ORDER BY created_at, id""",
        order_id,
    )
    found = [MerchantEvent.model_validate(row["payload"]) for row in rows]
    # every one routed by its name to the exchange merchant-webhooks' queue is bound to
    assert [(row["exchange"], row["routing_key"]) for row in rows] == [
        ("orders.events", f"merchant.{event.event}") for event in found
    ]
    return found


def names(found: list[MerchantEvent]) -> list[tuple[str, str]]:
    return [(event.event, event.id) for event in found]


async def message(deps: Deps, event: events.PaymentEvent | events.RefundEvent) -> None:
    """A message of its own (a new message id): what a republish by payment-svc would be."""
    if isinstance(event, events.PaymentEvent):
        await apply_payment_event(deps, str(ids.new_uuid()), event)
    else:
        await apply_refund_event(deps, str(ids.new_uuid()), event)


async def test_a_success_records_the_capture_and_the_order_paid_in_the_transaction_of_the_change(deps: Deps) -> None:
    order_id = await new_order(deps)
    attempt = Attempt(order_id)
    await message(deps, attempt.event(1, "INITIATED"))
    assert await recorded(deps, order_id) == []

    success = attempt.event(2, "SUCCESS", gatewayPaymentId="gw_1", signature="s")
    await apply_payment_event(deps, "msg-success", success)
    found = await recorded(deps, order_id)
    assert names(found) == [
        ("payment.captured", event_id(attempt.id, "payment.captured")),
        ("order.paid", event_id(order_id, "order.paid")),
    ]
    captured, paid = found
    assert captured.merchant_id == paid.merchant_id == MERCHANT
    assert captured.contains == ["payment"] and paid.contains == ["payment", "order"]
    payment = captured.payload["payment"]["entity"]
    assert (payment["id"], payment["status"], payment["captured"], payment["order_id"]) == (
        attempt.id,
        "captured",
        True,
        order_id,
    )
    assert (payment["method"], payment["vpa"]) == ("upi", "success@razorpay")
    order = paid.payload["order"]["entity"]
    assert (order["id"], order["status"], order["amount_paid"], order["attempts"], order["receipt"]) == (
        order_id,
        "paid",
        AMOUNT,
        1,
        "rcpt-7",
    )
    assert captured.created_at == paid.created_at == int(success.payment.updatedAt.timestamp())

    # the events are rows of the transaction that moved the view and the order: one transaction id for all
    xids = await deps.pool.fetch(
        """SELECT xmin::text AS xid FROM outbox WHERE aggregate_id = $1 AND event_type = 'merchant.event'
           UNION SELECT xmin::text FROM payment_views WHERE id = $2
           UNION SELECT xmin::text FROM orders WHERE id = $1""",
        order_id,
        attempt.id,
    )
    assert len(xids) == 1

    # redelivered, republished, and a stale snapshot after it: nothing applied, nothing recorded
    await apply_payment_event(deps, "msg-success", success)
    await message(deps, success)
    await message(deps, attempt.event(1, "INITIATED"))
    assert names(await recorded(deps, order_id)) == names(found)


async def test_a_failure_records_the_failure_only(deps: Deps) -> None:
    order_id = await new_order(deps)
    attempt = Attempt(order_id)
    await message(deps, attempt.event(1, "INITIATED"))
    failed = attempt.event(2, "FAILED", errorCode="UPI_DECLINED", errorDescription="declined")
    await message(deps, failed)
    await message(deps, failed)
    [event] = await recorded(deps, order_id)
    assert (event.event, event.id) == ("payment.failed", event_id(attempt.id, "payment.failed"))
    entity = event.payload["payment"]["entity"]
    assert (entity["status"], entity["error_reason"], entity["error_source"]) == ("failed", "upi_declined", "customer")


async def test_a_manual_capture_is_authorised_then_captured(deps: Deps) -> None:
    order_id = await new_order(deps, manual_capture=True)
    attempt = Attempt(order_id)
    await message(deps, attempt.event(1, "INITIATED"))
    await message(deps, attempt.event(2, "AUTHORIZED", gatewayPaymentId="gw_2", signature="s"))
    [authorized] = await recorded(deps, order_id)
    assert authorized.event == "payment.authorized"
    assert authorized.payload["payment"]["entity"]["status"] == "authorized"
    assert not authorized.payload["payment"]["entity"]["captured"]

    await message(deps, attempt.event(3, "SUCCESS", gatewayPaymentId="gw_2", signature="s"))
    assert [event.event for event in await recorded(deps, order_id)] == [
        "payment.authorized",
        "payment.captured",
        "order.paid",
    ]


async def test_a_capture_that_overtakes_its_authorisation_tells_both_once(deps: Deps) -> None:
    order_id = await new_order(deps, manual_capture=True)
    attempt = Attempt(order_id)
    await message(deps, attempt.event(3, "SUCCESS", gatewayPaymentId="gw_3", signature="s"))
    await message(deps, attempt.event(2, "AUTHORIZED", gatewayPaymentId="gw_3", signature="s"))
    await message(deps, attempt.event(1, "INITIATED"))
    assert names(await recorded(deps, order_id)) == [
        ("payment.authorized", event_id(attempt.id, "payment.authorized")),
        ("payment.captured", event_id(attempt.id, "payment.captured")),
        ("order.paid", event_id(order_id, "order.paid")),
    ]


async def test_a_second_success_of_a_paid_order_is_captured_but_does_not_pay_it_again(deps: Deps) -> None:
    order_id = await new_order(deps)
    first, second = Attempt(order_id), Attempt(order_id)
    await message(deps, first.event(2, "SUCCESS", gatewayPaymentId="gw_a", signature="s"))
    await message(deps, second.event(2, "SUCCESS", gatewayPaymentId="gw_b", signature="s"))
    assert names(await recorded(deps, order_id)) == [
        ("payment.captured", event_id(first.id, "payment.captured")),
        ("order.paid", event_id(order_id, "order.paid")),
        ("payment.captured", event_id(second.id, "payment.captured")),
    ]


async def test_refunds_are_created_then_settled(deps: Deps) -> None:
    order_id = await new_order(deps)
    attempt = Attempt(order_id)
    await message(deps, attempt.event(2, "SUCCESS", gatewayPaymentId="gw_r", signature="s"))
    before = len(await recorded(deps, order_id))
    processed_id, failed_id = ids.new_id(ids.REFUND), ids.new_id(ids.REFUND)

    await message(deps, refund_event(order_id, attempt.id, processed_id, 1, "PENDING"))
    await message(deps, refund_event(order_id, attempt.id, processed_id, 2, "PROCESSED"))
    # the second refund's settlement overtakes its creation
    await message(deps, refund_event(order_id, attempt.id, failed_id, 2, "FAILED"))
    # repeats and stale snapshots of both
    await message(deps, refund_event(order_id, attempt.id, processed_id, 2, "PROCESSED"))
    await message(deps, refund_event(order_id, attempt.id, processed_id, 1, "PENDING"))
    await message(deps, refund_event(order_id, attempt.id, failed_id, 1, "PENDING"))

    found = (await recorded(deps, order_id))[before:]
    assert names(found) == [
        ("refund.created", event_id(processed_id, "refund.created")),
        ("refund.processed", event_id(processed_id, "refund.processed")),
        ("refund.created", event_id(failed_id, "refund.created")),
        ("refund.failed", event_id(failed_id, "refund.failed")),
    ]
    for event in found:
        assert event.contains == ["refund", "payment"]
        assert event.payload["payment"]["entity"]["id"] == attempt.id
    created, processed, _, failed = found
    assert created.payload["refund"]["entity"]["status"] == "pending"
    assert processed.payload["refund"]["entity"]["status"] == "processed"
    assert failed.payload["refund"]["entity"]["status"] == "failed"
    # the payment as each change left it: the pending refund already counts, the failed one never does
    assert created.payload["payment"]["entity"]["amount_refunded"] == 300
    assert failed.payload["payment"]["entity"]["amount_refunded"] == 300
    assert failed.payload["payment"]["entity"]["refund_status"] == "partial"


async def test_the_payment_entity_carries_the_details_the_v1_request_gave(deps: Deps) -> None:
    order_id = await new_order(deps)
    attempt = Attempt(order_id)
    await message(deps, attempt.event(1, "INITIATED"))
    async with deps.pool.acquire() as conn:
        await PaymentDetailsRepository(conn).insert(attempt.id, "buyer@example.com", "+919900000000", {"ref": "r-9"})
    await message(deps, attempt.event(2, "SUCCESS", gatewayPaymentId="gw_9", signature="s"))
    captured, paid = await recorded(deps, order_id)
    for event in (captured, paid):
        payment = event.payload["payment"]["entity"]
        assert (payment["email"], payment["contact"], payment["notes"]) == (
            "buyer@example.com",
            "+919900000000",
            {"ref": "r-9"},
        )
        assert (payment["amount_refunded"], payment["refund_status"]) == (0, None)
