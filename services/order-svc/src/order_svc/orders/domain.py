"""The order's state machine and the rules of what an order holds (notes, its customer). Pure: no I/O."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import email_validator
from pydantic import AfterValidator, Field, StrictStr


class OrderStatus(StrEnum):
    CREATED = "CREATED"
    PAID = "PAID"
    FAILED = "FAILED"


# target -> the statuses an order may move to it from. An order is moved only by its attempts' outcomes:
# a SUCCESS pays it whatever came before (a later attempt may pay an order an earlier one failed), a
# FAILED attempt fails only an order nothing has settled yet, and a PAID order never changes again
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PAID: frozenset({OrderStatus.CREATED, OrderStatus.FAILED}),
    OrderStatus.FAILED: frozenset({OrderStatus.CREATED}),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return current in TRANSITIONS.get(target, frozenset())


def moves_from(target: OrderStatus) -> list[str]:
    """The statuses an UPDATE to `target` may find, for its `WHERE status = ANY($n)` guard."""
    return sorted(TRANSITIONS.get(target, frozenset()))


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    merchant_id: str
    amount: int
    currency: str
    status: OrderStatus
    receipt: str | None
    notes: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    # both or neither: who the receipt email of a successful payment goes to
    customer_email: str | None = None
    customer_name: str | None = None
    # its payments are only authorised, and wait AUTHORIZED for the merchant's capture
    manual_capture: bool = False


# --- notes: a client's, an order's or a refund's, kept and shown back as they were sent ----------------

MAX_NOTES = 15
MAX_NOTE_KEY = 64
MAX_NOTE_VALUE = 256


def notes_bounded(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_NOTES:
        raise ValueError(f"at most {MAX_NOTES} notes")
    if any(len(key) > MAX_NOTE_KEY for key in value):
        raise ValueError(f"note keys are at most {MAX_NOTE_KEY} characters")
    return value


NoteValue = Annotated[StrictStr, Field(max_length=MAX_NOTE_VALUE)]
# as a field type of the request models (an order's, a refund's)
Notes = Annotated[dict[str, NoteValue], AfterValidator(notes_bounded)]


# --- the customer: who the receipt email of a successful payment goes to ------------------------------

MAX_EMAIL = 254  # the longest address SMTP can carry (RFC 5321's path limit less the brackets)
MAX_NAME = 100


def deliverable_address(value: str) -> str:
    # syntax only (no DNS at request time), and no non-ASCII local part: sending one needs SMTPUTF8,
    # which relays may not offer. A non-ASCII domain is fine: it is sent as punycode (`smtp_address`)
    try:
        checked = email_validator.validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return str(checked.normalized)


def smtp_address(address: str) -> str:
    """The address as an SMTP envelope and header carry it: ASCII, an international domain as punycode."""
    checked = email_validator.validate_email(address, check_deliverability=False, allow_smtputf8=False)
    return str(checked.ascii_email or checked.normalized)


def check_header_safe(value: str) -> str:
    """Refuse what cannot go into a mail header: the name goes into the To header, where a CR or LF would
    start a header of the client's choosing (and PostgreSQL text cannot hold NUL). Every control
    character and the Unicode line and paragraph separators are refused, not stripped, so what is
    stored is what was sent."""
    if not value.strip():
        raise ValueError("must not be blank")
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value):
        raise ValueError("must not contain control characters or line breaks")
    return value
