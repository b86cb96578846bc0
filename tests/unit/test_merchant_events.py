"""Merchant events, the pure rules: which move of an attempt or a refund is which event, the event's id
(fixed by what it reports) and its Razorpay-shaped payload."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from test_order_svc_answers import ORDER, REFUND, VIEW

from order_svc.merchant_events.domain import event_id, merchant_event, payment_events, refund_events
from order_svc.merchant_events.messages import merchant_event_message
from order_svc.v1.orders.schemas import OrderEntity
from order_svc.v1.payments.schemas import PaymentEntity
from order_svc.v1.refunds.schemas import RefundEntity
from payments_common.events import MerchantEvent

AT = datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before", "after", "manual", "expected"),
    [
        (None, "INITIATED", False, []),
        ("INITIATED", "INITIATED", False, []),
        ("INITIATED", "SUCCESS", False, ["payment.captured"]),
        (None, "SUCCESS", False, ["payment.captured"]),
        ("INITIATED", "FAILED", False, ["payment.failed"]),
        ("SUCCESS", "SUCCESS", False, []),
        ("FAILED", "FAILED", False, []),
        # manual capture: authorised, then captured, each told once
        ("INITIATED", "AUTHORIZED", True, ["payment.authorized"]),
        ("AUTHORIZED", "AUTHORIZED", True, []),
        ("AUTHORIZED", "SUCCESS", True, ["payment.captured"]),
        # the capture overtook the authorisation: both told, in their order
        ("INITIATED", "SUCCESS", True, ["payment.authorized", "payment.captured"]),
        (None, "SUCCESS", True, ["payment.authorized", "payment.captured"]),
        # an authorisation voided
        ("AUTHORIZED", "FAILED", True, ["payment.failed"]),
        ("INITIATED", "FAILED", True, ["payment.failed"]),
    ],
)
def test_payment_moves(before: str | None, after: str, manual: bool, expected: list[str]) -> None:
    assert payment_events(before, after, manual_capture=manual) == expected


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, "PENDING", ["refund.created"]),
        ("PENDING", "PENDING", []),
        ("PENDING", "PROCESSED", ["refund.processed"]),
        ("PENDING", "FAILED", ["refund.failed"]),
        # first seen already settled: created and settled in one change
        (None, "PROCESSED", ["refund.created", "refund.processed"]),
        (None, "FAILED", ["refund.created", "refund.failed"]),
        ("PROCESSED", "PROCESSED", []),
    ],
)
def test_refund_moves(before: str | None, after: str, expected: list[str]) -> None:
    assert refund_events(before, after) == expected


def test_event_ids_are_fixed_by_entity_and_event() -> None:
    first = event_id("pay_A1b2C3d4E5f6G7", "payment.captured")
    assert re.fullmatch(r"evt_[A-Za-z0-9]{20}", first)
    assert event_id("pay_A1b2C3d4E5f6G7", "payment.captured") == first
    others = {
        event_id("pay_A1b2C3d4E5f6G7", "payment.failed"),
        event_id("pay_A1b2C3d4E5f6G8", "payment.captured"),
        event_id("order_A1b2C3d4E5f6G7", "order.paid"),
    }
    assert first not in others and len(others) == 3
    # the id cannot be confused across the boundary of name and entity
    assert event_id("b.c", "a") != event_id("c", "a.b")


def test_a_payment_event_carries_the_payment_entity() -> None:
    payment = PaymentEntity.of(VIEW, [], None)
    event = merchant_event("payment.captured", VIEW.id, "merch_1", {"payment": payment}, AT)
    assert event.id == event_id(VIEW.id, "payment.captured")
    assert (event.merchant_id, event.event, event.contains) == ("merch_1", "payment.captured", ["payment"])
    assert event.payload == {"payment": {"entity": payment.model_dump(mode="json")}}
    assert event.payload["payment"]["entity"]["id"] == VIEW.id
    assert event.created_at == int(AT.timestamp())


def test_order_paid_and_refund_events_carry_both_entities() -> None:
    payment = PaymentEntity.of(VIEW, [REFUND], None)
    order = OrderEntity.of(ORDER, 1)
    paid = merchant_event("order.paid", ORDER.id, "merch_1", {"payment": payment, "order": order}, AT)
    assert paid.contains == ["payment", "order"]
    assert paid.payload["order"]["entity"]["id"] == ORDER.id
    assert paid.payload["payment"]["entity"]["entity"] == "payment"
    refund = RefundEntity.of(REFUND, ("rcpt-1", "normal"))
    created = merchant_event("refund.created", REFUND.id, "merch_1", {"refund": refund, "payment": payment}, AT)
    assert created.contains == ["refund", "payment"]
    assert created.payload["refund"]["entity"]["receipt"] == "rcpt-1"
    assert created.payload["payment"]["entity"]["amount_refunded"] == payment.amount_refunded
    assert created.id == event_id(REFUND.id, "refund.created")


def test_the_outbox_message_is_routed_by_event_name() -> None:
    payment = PaymentEntity.of(VIEW, [], None)
    event = merchant_event("payment.failed", VIEW.id, "merch_1", {"payment": payment}, AT)
    message = merchant_event_message(event, ORDER.id)
    assert (message.exchange, message.routing_key, message.event_type) == (
        "orders.events",
        "merchant.payment.failed",
        "merchant.event",
    )
    assert MerchantEvent.model_validate(message.payload) == event
