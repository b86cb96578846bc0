"""The payment state machine and the rules that decide a webhook's effect. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PaymentStatus(StrEnum):
    INITIATED = "INITIATED"
    # a manually captured payment the gateway authorised: its money is held, not taken, until captured
    AUTHORIZED = "AUTHORIZED"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


TERMINAL = frozenset({PaymentStatus.SUCCESS, PaymentStatus.FAILED})
# an attempt that blocks another one for its order: started, or authorised and not yet captured or voided
OPEN = frozenset({PaymentStatus.INITIATED, PaymentStatus.AUTHORIZED})

AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
# an attempt the gateway never settled, or never heard of, within the expiry
EXPIRED = "EXPIRED"
# an authorisation nobody captured within AUTHORIZATION_VOID_AFTER_SECONDS: voided at the gateway
AUTHORIZATION_EXPIRED = "AUTHORIZATION_EXPIRED"
# an authorisation the merchant voided (or whose capture lost to the void)
VOIDED = "VOIDED"
# a capture refused: the payment is not AUTHORIZED, or the amount or currency is not the authorised one
NOT_CAPTURABLE = "PAYMENT_NOT_CAPTURABLE"


class Source(StrEnum):
    """Who decided a payment's outcome; recorded with every settlement."""

    API = "api"
    WEBHOOK = "webhook"
    RECONCILIATION = "reconciliation"
    EXPIRY = "expiry"


# target -> the statuses an attempt may move to it from: INITIATED settles once (AUTHORIZED only for a
# manual capture); an AUTHORIZED one is captured (SUCCESS) or voided (FAILED) once; SUCCESS and FAILED are final
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.AUTHORIZED: frozenset({PaymentStatus.INITIATED}),
    PaymentStatus.SUCCESS: frozenset({PaymentStatus.INITIATED, PaymentStatus.AUTHORIZED}),
    PaymentStatus.FAILED: frozenset({PaymentStatus.INITIATED, PaymentStatus.AUTHORIZED}),
}


def moves_from(target: PaymentStatus) -> list[str]:
    """The statuses an UPDATE to `target` may find, for its `WHERE status = ANY($n)` guard."""
    return sorted(TRANSITIONS.get(target, frozenset()))


def conflict_kind(current: PaymentStatus, reported: PaymentStatus, error_code: str | None = None) -> str | None:
    """The anomaly a report makes when it contradicts a settled payment; None when it merely repeats it,
    or reports the authorisation of a payment since captured or voided (the gateway's record agrees)."""
    if current in OPEN or current is reported:
        return None
    if reported is PaymentStatus.AUTHORIZED and (
        current is PaymentStatus.SUCCESS or error_code in (AUTHORIZATION_EXPIRED, VOIDED)
    ):
        return None
    return f"{reported.value}_AFTER_{current.value}"


def is_anomalous(error_code: str | None) -> bool:
    """A SUCCESS (or AUTHORIZED) refused for a wrong amount or currency: the gateway may hold money anyway."""
    return error_code in (AMOUNT_MISMATCH, CURRENCY_MISMATCH)


def can_transition(current: PaymentStatus, target: PaymentStatus) -> bool:
    """A payment leaves INITIATED once, to SUCCESS, FAILED or AUTHORIZED; an AUTHORIZED one is captured
    (SUCCESS) or voided (FAILED); SUCCESS and FAILED never move again."""
    return current in TRANSITIONS.get(target, frozenset())


def capture_refusal(
    status: PaymentStatus, amount: int, currency: str, asked_amount: int, asked_currency: str
) -> str | None:
    """Why a capture of `asked_amount` `asked_currency` cannot go on; None when it can."""
    if status is PaymentStatus.SUCCESS:
        return "the payment is already captured"
    if status is PaymentStatus.FAILED:
        return "the payment failed (or its authorisation was voided): there is nothing to capture"
    if status is PaymentStatus.INITIATED:
        return "the payment is not authorised yet"
    if asked_amount != amount:
        return f"amount: must be the authorised amount, {amount}"
    if asked_currency != currency:
        return f"currency: must be the authorised currency, {currency}"
    return None


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
    if reported.status in (PaymentStatus.SUCCESS, PaymentStatus.AUTHORIZED):
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
        return Settlement(reported.status, None, None)
    return Settlement(
        PaymentStatus.FAILED,
        reported.error_code or "PAYMENT_FAILED",
        reported.error_description or "the gateway reported the payment as failed",
    )
