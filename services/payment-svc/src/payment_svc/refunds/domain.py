"""The refund rules: which payments may be refunded, how much, and how a refund moves. Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum

from payment_svc.attempts.domain import PaymentStatus


class RefundStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


# what the gateway's refusal of a refund is recorded as: it never took the refund, so nothing moved
GATEWAY_REJECTED = "GATEWAY_REJECTED"


class AmountRefused(ValueError):
    """The requested amount cannot be refunded; the message says why (it names no secret)."""


def is_refundable(status: PaymentStatus) -> bool:
    """Only a captured payment has money to give back."""
    return status is PaymentStatus.SUCCESS


def refund_amount(requested: int | None, amount: int, refunded: int) -> int:
    """The amount to refund: what was asked, or by default everything not yet refunded.

    `refunded` counts the refunds that have not failed (PENDING and PROCESSED). This check gives the
    client a precise message; the database's CHECK on `amount_refunded` is what actually holds the rule.
    """
    left = amount - refunded
    if requested is None:
        if left <= 0:
            raise AmountRefused("the payment is already fully refunded")
        return left
    if requested <= 0:
        raise AmountRefused("amount must be greater than 0")
    if requested > left:
        raise AmountRefused(f"amount exceeds what is left to refund ({left} of {amount})")
    return requested


def can_transition(current: RefundStatus, target: RefundStatus) -> bool:
    """A refund leaves PENDING once, to PROCESSED or FAILED, and never moves again."""
    return current is RefundStatus.PENDING and target is not RefundStatus.PENDING


def conflict_kind(current: RefundStatus, reported: RefundStatus) -> str | None:
    """The anomaly a report makes when it contradicts a settled refund; None when it merely repeats it."""
    if current is RefundStatus.PENDING or current is reported:
        return None
    return f"REFUND_{reported.value}_AFTER_{current.value}"


def released_amount(target: RefundStatus, amount: int) -> int:
    """What a settlement gives back to the payment's refundable balance: a FAILED refund returns its
    amount (no money moved), a PROCESSED one keeps it."""
    return amount if target is RefundStatus.FAILED else 0


class RefundTrail(StrEnum):
    """The kinds refunds write into the payment's trail (`payment_events`), beside the payment's own."""

    REQUESTED = "refund_requested"
    SENT = "refund_sent"
    PROCESSED = "refund_processed"
    FAILED = "refund_failed"
    IGNORED_ALREADY_SETTLED = "refund_ignored_already_settled"
    CONFLICT_IGNORED = "refund_conflict_ignored"
