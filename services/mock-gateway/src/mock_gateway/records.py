"""A gateway payment as the API shows it, and the webhook body that reports its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from mock_gateway.outcomes import UPI_DECLINED, Decline, Outcome
from payments_common.timeutil import iso


@dataclass(frozen=True, slots=True)
class NewPayment:
    """What `POST /v1/payments` decided before anything was stored. `method` is the method's summary
    (`payments_common.methods.summary`): a card's number and CVV are read to decide, never kept."""

    id: str
    payment_id: str
    order_id: str
    amount: int
    currency: str
    method: dict[str, Any] | None
    signature: str
    # what the payment's FAILED webhooks report
    decline: Decline | None = None


@dataclass(frozen=True, slots=True)
class GatewayPayment:
    id: str
    payment_id: str
    order_id: str
    amount: int
    currency: str
    method: dict[str, Any] | None
    signature: str
    status: str
    error_code: str | None
    error_description: str | None
    faults: tuple[str, ...]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> GatewayPayment:
        return cls(
            id=row["id"],
            payment_id=row["payment_id"],
            order_id=row["order_id"],
            amount=row["amount"],
            currency=row["currency"],
            method=row["method"],
            signature=row["signature"],
            status=row["status"],
            error_code=row["error_code"],
            error_description=row["error_description"],
            faults=tuple(row["faults"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "paymentId": self.payment_id,
            "orderId": self.order_id,
            "amount": self.amount,
            "currency": self.currency,
            "method": self.method,
            "status": self.status,
            "signature": self.signature,
            "errorCode": self.error_code,
            "errorDescription": self.error_description,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }


def webhook_body(payment: NewPayment, reports: Outcome) -> dict[str, Any]:
    body: dict[str, Any] = {
        "orderId": payment.order_id,
        "paymentId": payment.payment_id,
        "gatewayPaymentId": payment.id,
        "signature": payment.signature,
        "status": reports.value,
        "amount": payment.amount,
        "currency": payment.currency,
    }
    if payment.method is not None:
        body["method"] = payment.method
    if reports is Outcome.FAILED:
        decline = payment.decline or UPI_DECLINED
        body["errorCode"] = decline.code
        body["errorDescription"] = decline.description
    return body
