"""What the console expects from each admin route, as pydantic models. Unknown fields are ignored, so a
service may add to an answer without breaking the console; a missing or mistyped field is an error."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from payments_common.dlq import DeadLetterView


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- payment-svc: GET /admin/analytics -------------------------------------------------------------


class AttemptCounts(Model):
    attempted: int
    succeeded: int
    failed: int
    pending: int


class PaidInCurrency(Model):
    currency: str
    count: int
    amount: int


class FailureReason(Model):
    code: str
    count: int


class MethodMix(Model):
    method: str
    attempted: int
    succeeded: int


class RefundAmount(Model):
    currency: str
    amount: int
    pendingAmount: int


class RefundFigures(Model):
    count: int
    pending: int
    processed: int
    failed: int
    amounts: list[RefundAmount]


class SettleSeconds(Model):
    count: int
    p50: float | None
    p95: float | None


class PaymentBucket(Model):
    at: datetime
    attempted: int
    succeeded: int
    failed: int


class PaymentAnalytics(Model):
    from_: datetime = Field(alias="from")
    to: datetime
    merchant: str | None
    bucket: Literal["minute", "hour"]
    attempts: AttemptCounts
    successRate: float | None
    paid: list[PaidInCurrency]
    failureReasons: list[FailureReason]
    methods: list[MethodMix]
    refunds: RefundFigures
    settleSeconds: SettleSeconds
    series: list[PaymentBucket]


# --- order-svc: GET /admin/analytics/orders -----------------------------------------------------------


class OrderBucket(Model):
    at: datetime
    orders: int
    paid: int


class OrderAnalytics(Model):
    from_: datetime = Field(alias="from")
    to: datetime
    merchant: str | None
    bucket: Literal["minute", "hour"]
    orders: int
    paid: int
    conversion: float | None
    series: list[OrderBucket]


# --- payment-svc: GET /admin/payments, GET /admin/payments/{id} ---------------------------------------


class PaymentRow(Model):
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
    createdAt: datetime
    updatedAt: datetime


class PaymentSearch(Model):
    payments: list[PaymentRow]


class RefundRow(Model):
    id: str
    paymentId: str
    amount: int
    currency: str
    status: str
    gatewayRefundId: str | None
    errorCode: str | None
    createdAt: datetime
    updatedAt: datetime


class TrailEntry(Model):
    id: int
    kind: str
    source: str
    eventId: str | None
    detail: dict[str, Any]
    createdAt: datetime


class AnomalyView(Model):
    id: int
    paymentId: str
    orderId: str
    kind: str
    source: str
    eventId: str | None
    detail: dict[str, Any]
    createdAt: datetime
    resolvedAt: datetime | None
    resolution: str | None
    resolvedBy: str | None = None
    resolutionNote: str | None = None
    refundId: str | None = None


class Anomalies(Model):
    anomalies: list[AnomalyView]


class PaymentDetail(Model):
    payment: PaymentRow
    attempts: list[PaymentRow]
    refunds: list[RefundRow]
    events: list[TrailEntry]
    anomalies: list[AnomalyView]


class ResolveResult(Model):
    anomaly: AnomalyView
    refundId: str | None


# --- order-svc: GET /admin/orders/{id} -------------------------------------------------------------------


class OrderView(Model):
    id: str
    merchantId: str
    amount: int
    currency: str
    status: str
    receipt: str | None
    createdAt: datetime
    updatedAt: datetime


# --- payment-svc: dead letters (GET /admin/dlq, GET /admin/dlq/{id}, POST requeue and purge) -------------


class DeadLetterQueue(Model):
    queue: str
    origin_queue: str
    exists: bool
    messages: int
    scanned: int


class DeadLetterGroup(Model):
    origin_queue: str
    reason: str
    count: int
    oldest_age_seconds: float | None


# one dead letter: the model payments_common writes the admin API's answers with
DeadLetter = DeadLetterView


class DeadLetterListing(Model):
    queues: list[DeadLetterQueue]
    groups: list[DeadLetterGroup]
    messages: list[DeadLetter] | None
    truncated: bool


class DeadLetterMessages(Model):
    messages: list[DeadLetter]


class OperationOutcome(Model):
    id: str
    queue: str
    origin_queue: str
    reason: str
    status: str
    error: str | None


class OperationResult(Model):
    action: str
    dry_run: bool
    selected: int
    succeeded: int
    failed: int
    missing_ids: list[str]
    messages: list[OperationOutcome]


class Selection(Model):
    """Which dead letters an action takes: payment-svc's `SelectionBody`."""

    ids: list[str] = Field(default_factory=list)
    queue: str | None = None
    reason: str | None = None
    all: bool = False
    dryRun: bool = False


# --- payment-svc: GET /admin/outbox, GET /admin/queues, GET /admin/reconcile/last --------------------------


class OutboxSchema(Model):
    schema_: str = Field(alias="schema")
    exists: bool
    unpublished: int | None = None
    oldest_unpublished_age_seconds: float | None = None
    retrying: int | None = None
    published_last_minute: int | None = None


class OutboxStatus(Model):
    schemas: list[OutboxSchema]


class QueueDepth(Model):
    queue: str
    messages: int | None
    consumers: int | None
    exists: bool = True


class QueueDepths(Model):
    queues: list[QueueDepth]


class ReconcileRun(Model):
    startedAt: datetime
    finishedAt: datetime | None = None
    checked: int
    settled: int
    stillPending: int
    republished: int
    errors: list[Any]


class ReconcileLast(Model):
    lastRun: ReconcileRun | None


# --- every service: GET /readyz ---------------------------------------------------------------------------


class Readiness(Model):
    service: str
    state: Literal["ready", "not ready", "unknown", "down"]
    reason: str
