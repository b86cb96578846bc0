"""A payment link's rules without I/O: its ids and token, its status at a moment (expiry is read, not
swept), what may be done to it in each status, and the callback's signature.

A link's stored status is created, paid or cancelled; a created link whose `expire_by` has passed reads
`expired` from that moment on, so it can never be paid a moment late for want of a sweep.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

LINK_PREFIX = "plink_"
ID_CHARS = 14
_BASE62 = string.digits + string.ascii_letters

# where the hosted checkout page of a link is served (order_svc/checkout/)
SHORT_PATH = "/l/"

Status = Literal["created", "paid", "expired", "cancelled"]

LINK_NOT_EDITABLE = "PAYMENT_LINK_NOT_EDITABLE"
LINK_NOT_PAYABLE = "PAYMENT_LINK_NOT_PAYABLE"


def new_link_id() -> str:
    return LINK_PREFIX + "".join(secrets.choice(_BASE62) for _ in range(ID_CHARS))


def new_token() -> str:
    """The short URL's path: 256 random bits, base64url, so a link is found only by who was given it."""
    return secrets.token_urlsafe(32)


def is_link_id(value: str) -> bool:
    rest = value.removeprefix(LINK_PREFIX)
    return value.startswith(LINK_PREFIX) and len(rest) == ID_CHARS and all(char in _BASE62 for char in rest)


@dataclass(frozen=True, slots=True)
class PaymentLink:
    id: str
    merchant_id: str
    order_id: str
    token: str
    short_url: str
    description: str | None
    customer_name: str | None
    customer_email: str | None
    customer_contact: str | None
    expire_by: datetime | None
    reference_id: str | None
    callback_url: str | None
    callback_method: str | None
    notes: dict[str, Any] | None
    # created, paid or cancelled: `status_at` adds expired
    status: str
    paid_payment_id: str | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime


def status_at(link: PaymentLink, now: datetime) -> Status:
    if link.status == "paid":
        return "paid"
    if link.status == "cancelled":
        return "cancelled"
    if link.expire_by is not None and now >= link.expire_by:
        return "expired"
    return "created"


def short_url(checkout_url: str, token: str) -> str:
    return f"{checkout_url.rstrip('/')}{SHORT_PATH}{token}"


def refusal(link: PaymentLink, now: datetime) -> str | None:
    """Why the link cannot take a payment now (None: it can)."""
    status = status_at(link, now)
    return None if status == "created" else f"this payment link is {status}"


def callback_signature(key_secret: str, link_id: str, reference_id: str, status: str, payment_id: str) -> str:
    """hex(HMAC-SHA256(key_secret, link_id|reference_id|status|payment_id)): what
    `razorpay.Utility.verify_payment_link_signature` checks (an absent reference id is the empty string)."""
    message = f"{link_id}|{reference_id}|{status}|{payment_id}"
    return hmac.new(key_secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def callback_query(link: PaymentLink, payment_id: str, key_secret: str) -> dict[str, str]:
    """The query string the customer is sent back to `callback_url` with, once the link is paid."""
    reference = link.reference_id or ""
    return {
        "razorpay_payment_id": payment_id,
        "razorpay_payment_link_id": link.id,
        "razorpay_payment_link_reference_id": reference,
        "razorpay_payment_link_status": "paid",
        "razorpay_signature": callback_signature(key_secret, link.id, reference, "paid", payment_id),
    }
