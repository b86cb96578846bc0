"""payment-svc's answers about payments: `GET /admin/payments`, `GET /admin/payments/{id}`,
`GET /admin/anomalies` and `POST /admin/anomalies/{id}/resolve`."""

from __future__ import annotations

from typing import Any

from payments_common.admin_api import Answer
from payments_common.openapi import Timestamp


class AnomalyView(Answer):
    """A report that contradicted a settled payment (or a SUCCESS refused for its amount), as operators see it."""

    id: int
    paymentId: str
    orderId: str
    kind: str
    source: str
    eventId: str | None
    detail: dict[str, Any]
    createdAt: Timestamp
    resolvedAt: Timestamp | None
    resolution: str | None
    resolvedBy: str | None = None
    resolutionNote: str | None = None
    refundId: str | None = None


class Anomalies(Answer):
    anomalies: list[AnomalyView]


class PaymentRow(Answer):
    """One attempt as an operator searches for it (`method` is its type: card, upi, wallet, netbanking)."""

    id: str
    orderId: str
    merchantId: str
    amount: int
    currency: str
    method: str | None
    status: str
    gatewayPaymentId: str | None
    errorCode: str | None
    errorDescription: str | None
    settledBy: str | None
    amountRefunded: int
    createdAt: Timestamp
    updatedAt: Timestamp


class PaymentSearch(Answer):
    payments: list[PaymentRow]


class RefundRow(Answer):
    id: str
    paymentId: str
    amount: int
    currency: str
    status: str
    gatewayRefundId: str | None
    errorCode: str | None
    createdAt: Timestamp
    updatedAt: Timestamp


class TrailEntry(Answer):
    id: int
    kind: str
    source: str
    eventId: str | None
    detail: dict[str, Any]
    createdAt: Timestamp


class PaymentDetail(Answer):
    """One payment: the attempt, every attempt of its order, its refunds, its trail and its anomalies."""

    payment: PaymentRow
    attempts: list[PaymentRow]
    refunds: list[RefundRow]
    events: list[TrailEntry]
    anomalies: list[AnomalyView]


class ResolveResult(Answer):
    anomaly: AnomalyView
    refundId: str | None
