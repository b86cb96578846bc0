"""What order-svc knows of a refund, and what a payment's refunds take from it. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class RefundView:
    """order-svc's copy of a refund, kept from payment-svc's snapshots (the newest version wins)."""

    id: str
    payment_id: str
    order_id: str
    amount: int
    currency: str
    status: str
    notes: dict[str, Any] | None
    error_code: str | None
    error_description: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class RefundStatus(StrEnum):
    """A refund's status as payment-svc reports it: PENDING and PROCESSED refunds count against the
    payment; a FAILED one gave its amount back."""

    PENDING = "PENDING"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


def amount_refunded(refunds: Sequence[RefundView], payment_id: str) -> int:
    """What the payment's refunds take from it: every refund of it that has not failed."""
    return sum(r.amount for r in refunds if r.payment_id == payment_id and r.status != RefundStatus.FAILED)
