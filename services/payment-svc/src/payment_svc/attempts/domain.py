"""The payment state machine and the rules that decide a webhook's effect. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PaymentStatus(StrEnum):
    INITIATED = "INITIATED"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


TERMINAL = frozenset({PaymentStatus.SUCCESS, PaymentStatus.FAILED})

AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
# an attempt the gateway never settled, or never heard of, within the expiry
EXPIRED = "EXPIRED"


class Source(StrEnum):
    """Who decided a payment's outcome; recorded with every settlement."""

    API = "api"
    WEBHOOK = "webhook"
    RECONCILIATION = "reconciliation"
    EXPIRY = "expiry"


def conflict_kind(current: PaymentStatus, reported: PaymentStatus) -> str | None:
    """The anomaly a report makes when it contradicts a settled payment; None when it merely repeats it."""
    if current is PaymentStatus.INITIATED or current is reported:
        return None
    return f"{reported.value}_AFTER_{current.value}"


def is_anomalous(error_code: str | None) -> bool:
    """A SUCCESS refused for a wrong amount or currency: the gateway may have captured money anyway."""
    return error_code in (AMOUNT_MISMATCH, CURRENCY_MISMATCH)


def can_transition(current: PaymentStatus, target: PaymentStatus) -> bool:
    """A payment leaves INITIATED once, to SUCCESS or FAILED, and never moves again."""
    return current is PaymentStatus.INITIATED and target in TERMINAL


@dataclass(frozen=True, slots=True)
class ReportedOutcome:
    """What the gateway says happened."""

    status: PaymentStatus
    amount: int | None = None
    currency: str | None = None
    error_code: str | None = None
    error_description: str | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """What we record: a reported SUCCESS for the wrong amount or currency becomes a FAILED."""

    status: PaymentStatus
    error_code: str | None
    error_description: str | None


def settle(amount: int, currency: str, reported: ReportedOutcome) -> Settlement:
    if reported.status is PaymentStatus.SUCCESS:
        if reported.amount is not None and reported.amount != amount:
            return Settlement(
                PaymentStatus.FAILED,
                AMOUNT_MISMATCH,
                f"gateway reported amount {reported.amount}, the order is for {amount}",
            )
        if reported.currency is not None and reported.currency != currency:
            return Settlement(
                PaymentStatus.FAILED,
                CURRENCY_MISMATCH,
                f"gateway reported currency {reported.currency}, the order is in {currency}",
            )
        return Settlement(PaymentStatus.SUCCESS, None, None)
    return Settlement(
        PaymentStatus.FAILED,
        reported.error_code or "PAYMENT_FAILED",
        reported.error_description or "the gateway reported the payment as failed",
    )
