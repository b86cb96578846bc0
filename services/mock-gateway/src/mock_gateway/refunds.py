"""Refunds at the gateway: how one ends, the record the API shows, and the webhook that reports it.

A refund is processed unless the payment it refunds was made with a test vpa holding the word
`refund-fails` (`success.refund-fails@razorpay`): the payment succeeds as usual, and each of its
refunds then fails, as a bank that cannot credit the payer's account would make it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from mock_gateway.outcomes import vpa_tokens
from payments_common.timeutil import iso

REFUND_FAILS_WORD = "refund-fails"
REFUND_WEBHOOK_PATH = "/webhook/refund"

PENDING = "pending"
PROCESSED = "processed"
FAILED = "failed"

REFUND_FAILED_CODE = "REFUND_FAILED"
REFUND_FAILED_DESCRIPTION = "The payer's bank could not credit the refund"


def refund_outcome(method: Mapping[str, Any] | None) -> str:
    """`failed` for a payment whose test vpa holds `refund-fails` (or `refund_fails`), else `processed`."""
    words = {token.replace("_", "-") for token in vpa_tokens(method)}
    return FAILED if REFUND_FAILS_WORD in words else PROCESSED


@dataclass(frozen=True, slots=True)
class NewRefund:
    """What `POST /v1/refunds` decided before anything was stored."""

    id: str
    refund_id: str
    gateway_payment_id: str
    payment_id: str
    amount: int
    currency: str
    outcome: str


@dataclass(frozen=True, slots=True)
class GatewayRefund:
    id: str
    refund_id: str
    gateway_payment_id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    error_code: str | None
    error_description: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> GatewayRefund:
        return cls(
            id=row["id"],
            refund_id=row["refund_id"],
            gateway_payment_id=row["gateway_payment_id"],
            payment_id=row["payment_id"],
            amount=row["amount"],
            currency=row["currency"],
            status=row["status"],
            error_code=row["error_code"],
            error_description=row["error_description"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "refundId": self.refund_id,
            "gatewayPaymentId": self.gateway_payment_id,
            "paymentId": self.payment_id,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "errorCode": self.error_code,
            "errorDescription": self.error_description,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }


def reported_status(outcome: str) -> str:
    """The webhook's `status` for a refund's outcome."""
    return "FAILED" if outcome == FAILED else "PROCESSED"


def refund_webhook_body(refund: NewRefund) -> dict[str, Any]:
    body: dict[str, Any] = {
        "refundId": refund.refund_id,
        "paymentId": refund.payment_id,
        "gatewayPaymentId": refund.gateway_payment_id,
        "gatewayRefundId": refund.id,
        "amount": refund.amount,
        "currency": refund.currency,
        "status": reported_status(refund.outcome),
    }
    if refund.outcome == FAILED:
        body["errorCode"] = REFUND_FAILED_CODE
        body["errorDescription"] = REFUND_FAILED_DESCRIPTION
    return body
