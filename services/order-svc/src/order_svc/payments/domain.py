"""What order-svc knows of a payment attempt, and the rules a client's payment method must meet. Pure:
no I/O. The card rules themselves (Luhn, networks, expiry) are `payments_common.methods`'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from order_svc.orders.domain import OrderStatus
from payments_common.methods import NETWORKS, card_digits, card_expired, cvv_length, luhn_valid, network_of
from payments_common.timeutil import utcnow


class PaymentStatus(StrEnum):
    """An attempt's status, as payment-svc decides it."""

    INITIATED = "INITIATED"
    # authorised for a manual capture: the money is held, the order not paid until it is captured
    AUTHORIZED = "AUTHORIZED"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


def order_moves_to(status: str) -> OrderStatus | None:
    """Where an attempt's outcome takes its order (the order's state machine says from where)."""
    if status == PaymentStatus.SUCCESS:
        return OrderStatus.PAID
    if status == PaymentStatus.FAILED:
        return OrderStatus.FAILED
    return None


@dataclass(frozen=True, slots=True)
class Moved:
    """A newer snapshot of an attempt taken into the view: the status it moved from (None: it was not
    in the view yet)."""

    before: str | None


@dataclass(frozen=True, slots=True)
class PaymentView:
    """order-svc's copy of an attempt, kept from payment-svc's snapshots (the newest version wins)."""

    id: str
    order_id: str
    status: str
    amount: int
    currency: str
    gateway_payment_id: str | None
    signature: str | None
    error_code: str | None
    error_description: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    # the method's summary (`payments_common.methods.summary`); None when the attempt named no method
    method: dict[str, Any] | None = None


# --- a card as the client sends it: the messages never quote the number (an error answer is stored and
# replayed by the idempotency keys)


def card_number(value: str) -> str:
    """The number's digits, spaces allowed between them as printed."""
    digits = card_digits(value)
    if digits is None:
        raise ValueError("must be 12 to 19 digits (spaces between them allowed)")
    if not luhn_valid(digits):
        raise ValueError("is not a valid card number (its check digit is wrong)")
    return digits


def check_not_expired(month: int, year: int) -> None:
    # the card is good through its expiry month
    if card_expired(month, year, utcnow()):
        raise ValueError(f"the card expired at the end of {month:02d}/{year}")


def check_cvv(value: str, number: str | None) -> None:
    """3 digits, or what the network of `number` (when it is known and valid) takes."""
    network = network_of(number) if number is not None else None
    length = cvv_length(network)
    if len(value) != length or not value.isascii() or not value.isdigit():
        brand = f" for {NETWORKS[network]} cards" if network in NETWORKS else ""
        raise ValueError(f"must be {length} digits{brand}")


def check_name_on_card(value: str) -> None:
    if not value.strip() or any(char < " " or char == "\x7f" for char in value):
        raise ValueError("must be the name on the card, without control characters")


def member_of(names: frozenset[str]) -> Callable[[str], str]:
    """The check that a string is one of `names`, naming them all in the error."""
    listed = ", ".join(sorted(names))

    def known(value: str) -> str:
        if value not in names:
            raise ValueError(f"must be one of {listed}")
        return value

    return known
