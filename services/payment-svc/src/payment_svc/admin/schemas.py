"""The pydantic models of the admin API: the bodies it accepts and the anomalies it answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from payments_common import dlq
from payments_common.errors import BAD_REQUEST, ApiError
from payments_common.openapi import Timestamp


class ReconcileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    olderThanSeconds: float | None = Field(default=None, ge=0)


class SelectionBody(BaseModel):
    """Which dead letters: ids, a queue, a reason, or all; `dryRun` reports without changing anything."""

    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(default_factory=list, max_length=10_000)
    queue: str | None = None
    reason: str | None = None
    all: bool = False
    dryRun: bool = False

    def selector(self) -> dlq.Selector:
        try:
            return dlq.Selector(ids=frozenset(self.ids), queue=self.queue, reason=self.reason, all=self.all)
        except ValueError as exc:
            raise ApiError(400, BAD_REQUEST, str(exc)) from None


class AnomalyView(BaseModel):
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


class Anomalies(BaseModel):
    anomalies: list[AnomalyView]


class PaymentRow(BaseModel):
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


class PaymentSearch(BaseModel):
    payments: list[PaymentRow]


class RefundRow(BaseModel):
    id: str
    paymentId: str
    amount: int
    currency: str
    status: str
    gatewayRefundId: str | None
    errorCode: str | None
    createdAt: Timestamp
    updatedAt: Timestamp


class TrailEntry(BaseModel):
    id: int
    kind: str
    source: str
    eventId: str | None
    detail: dict[str, Any]
    createdAt: Timestamp


class PaymentDetail(BaseModel):
    """One payment: the attempt, every attempt of its order, its refunds, its trail and its anomalies."""

    payment: PaymentRow
    attempts: list[PaymentRow]
    refunds: list[RefundRow]
    events: list[TrailEntry]
    anomalies: list[AnomalyView]


class ResolveBody(BaseModel):
    """`resolve`: mark it resolved; `refund`: give back money captured for a payment kept FAILED, then mark it."""

    model_config = ConfigDict(extra="forbid")

    operator: str = Field(min_length=1, max_length=64)
    action: Literal["resolve", "refund"]
    note: str = Field(min_length=1, max_length=500)


class ResolveResult(BaseModel):
    anomaly: AnomalyView
    refundId: str | None


class QueueDepth(BaseModel):
    queue: str
    messages: int | None
    consumers: int | None
    exists: bool


class QueueDepths(BaseModel):
    queues: list[QueueDepth]


class ReconcileRun(BaseModel):
    startedAt: Timestamp
    finishedAt: Timestamp | None
    checked: int
    settled: int
    stillPending: int
    republished: int
    errors: list[dict[str, Any]]


class ReconcileLast(BaseModel):
    """The reconciler's last pass since this process started (timed or asked for); null before the first."""

    lastRun: ReconcileRun | None
