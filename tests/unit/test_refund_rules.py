"""The pure rules of refunds: which payments may be refunded and by how much, how a refund moves, what a
failed one gives back, when the mock gateway fails one, and what a client may send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_gateway.refunds.domain import (
    FAILED,
    PROCESSED,
    REFUND_FAILED_CODE,
    NewRefund,
    refund_outcome,
    refund_webhook_body,
)
from order_svc.orders.domain import MAX_NOTE_KEY, MAX_NOTES
from order_svc.refunds.domain import RefundView, amount_refunded
from order_svc.refunds.schemas import CreateRefund
from payment_svc.attempts.domain import PaymentStatus
from payment_svc.refunds.domain import (
    AmountRefused,
    RefundStatus,
    can_transition,
    conflict_kind,
    is_refundable,
    refund_amount,
    released_amount,
)
from payments_common import ids
from payments_common.errors import ApiError
from payments_common.http import parse_model
from payments_common.money import MAX_AMOUNT

NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


# --- payment-svc: how much, and of what -------------------------------------------------------------


def test_only_a_successful_payment_is_refundable() -> None:
    assert is_refundable(PaymentStatus.SUCCESS)
    assert not is_refundable(PaymentStatus.INITIATED)
    assert not is_refundable(PaymentStatus.FAILED)


def test_without_an_amount_a_refund_takes_everything_left() -> None:
    assert refund_amount(None, 1000, 0) == 1000
    assert refund_amount(None, 1000, 300) == 700


def test_nothing_left_refuses_a_default_refund() -> None:
    with pytest.raises(AmountRefused, match="fully refunded"):
        refund_amount(None, 1000, 1000)


def test_a_partial_refund_takes_what_was_asked_up_to_what_is_left() -> None:
    assert refund_amount(100, 1000, 0) == 100
    assert refund_amount(700, 1000, 300) == 700
    with pytest.raises(AmountRefused, match=r"\(700 of 1000\)"):
        refund_amount(701, 1000, 300)


def test_a_non_positive_amount_is_refused() -> None:
    for amount in (0, -1):
        with pytest.raises(AmountRefused):
            refund_amount(amount, 1000, 0)


@given(
    amount=st.integers(min_value=1, max_value=MAX_AMOUNT),
    asks=st.lists(st.one_of(st.none(), st.integers(min_value=-5, max_value=MAX_AMOUNT)), max_size=30),
)
def test_refunds_granted_one_after_another_never_exceed_the_amount(amount: int, asks: list[int | None]) -> None:
    refunded = 0
    for ask in asks:
        try:
            granted = refund_amount(ask, amount, refunded)
        except AmountRefused:
            continue
        assert granted > 0
        refunded += granted
        assert refunded <= amount


def test_a_refund_leaves_pending_once() -> None:
    pending, processed, failed = RefundStatus.PENDING, RefundStatus.PROCESSED, RefundStatus.FAILED
    assert can_transition(pending, processed) and can_transition(pending, failed)
    assert not can_transition(pending, pending)
    for settled in (processed, failed):
        for target in RefundStatus:
            assert not can_transition(settled, target)


def test_a_contradicting_report_is_an_anomaly_and_a_repeated_one_is_not() -> None:
    assert conflict_kind(RefundStatus.FAILED, RefundStatus.PROCESSED) == "REFUND_PROCESSED_AFTER_FAILED"
    assert conflict_kind(RefundStatus.PROCESSED, RefundStatus.FAILED) == "REFUND_FAILED_AFTER_PROCESSED"
    assert conflict_kind(RefundStatus.PROCESSED, RefundStatus.PROCESSED) is None
    assert conflict_kind(RefundStatus.PENDING, RefundStatus.PROCESSED) is None


def test_only_a_failed_refund_gives_its_amount_back() -> None:
    assert released_amount(RefundStatus.FAILED, 250) == 250
    assert released_amount(RefundStatus.PROCESSED, 250) == 0


# --- the mock gateway's test value --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vpa", "outcome"),
    [
        ("success@razorpay", PROCESSED),
        ("success.refund-fails@razorpay", FAILED),
        ("success.duplicate.refund_fails@razorpay", FAILED),
        ("SUCCESS.REFUND-FAILS@RAZORPAY", FAILED),
        # only the test domain carries test values
        ("success.refund-fails@okhdfc", PROCESSED),
        ("refund-fails@razorpay", FAILED),
    ],
)
def test_refund_fails_in_the_payments_test_vpa_fails_its_refunds(vpa: str, outcome: str) -> None:
    assert refund_outcome({"type": "upi", "vpa": vpa}) == outcome


def test_a_payment_without_a_vpa_has_its_refunds_processed() -> None:
    assert refund_outcome(None) == PROCESSED
    assert refund_outcome({"type": "card", "last4": "1111"}) == PROCESSED


def _new_refund(outcome: str) -> NewRefund:
    return NewRefund(
        id=ids.new_id(ids.GATEWAY_REFUND),
        refund_id=ids.new_id(ids.REFUND),
        gateway_payment_id=ids.new_id(ids.GATEWAY_PAYMENT),
        payment_id=ids.new_id(ids.PAYMENT),
        amount=250,
        currency="INR",
        outcome=outcome,
    )


def test_the_refund_webhook_names_both_sides_ids_and_the_outcome() -> None:
    refund = _new_refund(PROCESSED)
    assert refund_webhook_body(refund) == {
        "refundId": refund.refund_id,
        "paymentId": refund.payment_id,
        "gatewayPaymentId": refund.gateway_payment_id,
        "gatewayRefundId": refund.id,
        "amount": 250,
        "currency": "INR",
        "status": "PROCESSED",
    }
    failed = refund_webhook_body(_new_refund(FAILED))
    assert failed["status"] == "FAILED" and failed["errorCode"] == REFUND_FAILED_CODE and failed["errorDescription"]


# --- order-svc: what a client may send, and what a payment shows ------------------------------------------


def _parsed(body: dict[str, Any]) -> CreateRefund:
    return parse_model(CreateRefund, body)


def test_a_refund_body_may_be_empty_or_name_an_amount_and_notes() -> None:
    assert _parsed({}).amount is None
    assert _parsed({"amount": 100, "notes": {"reason": "damaged"}}).notes == {"reason": "damaged"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": 100.0}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": MAX_AMOUNT + 1}, "amount"),
        ({"notes": {str(n): "v" for n in range(MAX_NOTES + 1)}}, "notes"),
        ({"notes": {"k" * (MAX_NOTE_KEY + 1): "v"}}, "notes"),
        ({"notes": {"k": 1}}, "notes.k"),
        # they travel in events (jsonb), which cannot hold NUL
        ({"notes": {"k": "a\x00b"}}, "notes"),
        ({"notes": {"k\x00": "v"}}, "notes"),
        ({"reason": "x"}, "reason"),
    ],
)
def test_a_bad_refund_body_is_a_400_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiError) as refused:
        _parsed(body)
    assert (refused.value.status, refused.value.field) == (400, field)


def _view(payment_id: str, amount: int, status: str) -> RefundView:
    return RefundView(
        id=ids.new_id(ids.REFUND),
        payment_id=payment_id,
        order_id=ids.new_id(ids.ORDER),
        amount=amount,
        currency="INR",
        status=status,
        notes=None,
        error_code=None,
        error_description=None,
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )


def test_amount_refunded_counts_pending_and_processed_refunds_of_that_payment_only() -> None:
    mine, other = ids.new_id(ids.PAYMENT), ids.new_id(ids.PAYMENT)
    refunds = [
        _view(mine, 100, "PENDING"),
        _view(mine, 200, "PROCESSED"),
        _view(mine, 400, "FAILED"),
        _view(other, 800, "PROCESSED"),
    ]
    assert amount_refunded(refunds, mine) == 300
    assert amount_refunded(refunds, other) == 800
    assert amount_refunded([], mine) == 0
