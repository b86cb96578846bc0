"""The analytics answers: payment-svc's `GET /admin/analytics` and order-svc's `GET /admin/analytics/orders`."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from payments_common.admin_api import Answer
from payments_common.openapi import Timestamp


class WindowAnswer(Answer):
    """What an analytics answer covers: its window echoed (`payments_common.admin.Window`)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Timestamp = Field(alias="from")
    to: Timestamp
    merchant: str | None
    bucket: Literal["minute", "hour"]


# --- payment-svc: GET /admin/analytics -------------------------------------------------------------


class AttemptCounts(Answer):
    attempted: int
    succeeded: int
    failed: int
    pending: int


class PaidInCurrency(Answer):
    currency: str
    count: int
    amount: int


class FailureReason(Answer):
    code: str
    count: int


class MethodMix(Answer):
    method: str
    attempted: int
    succeeded: int


class RefundAmount(Answer):
    currency: str
    amount: int
    pendingAmount: int


class RefundFigures(Answer):
    count: int
    pending: int
    processed: int
    failed: int
    amounts: list[RefundAmount]


class SettleSeconds(Answer):
    """Seconds from an attempt's creation to its settlement, over the attempts settled (p50, p95 null: none)."""

    count: int
    p50: float | None
    p95: float | None


class PaymentBucket(Answer):
    at: Timestamp
    attempted: int
    succeeded: int
    failed: int


class PaymentAnalytics(WindowAnswer):
    attempts: AttemptCounts
    successRate: float | None
    paid: list[PaidInCurrency]
    failureReasons: list[FailureReason]
    methods: list[MethodMix]
    refunds: RefundFigures
    settleSeconds: SettleSeconds
    series: list[PaymentBucket]


# --- order-svc: GET /admin/analytics/orders -----------------------------------------------------------


class OrderBucket(Answer):
    at: Timestamp
    orders: int
    paid: int


class OrderAnalytics(WindowAnswer):
    """Orders created in [from, to) and how many are paid; `conversion` is paid / orders (null: no orders)."""

    orders: int
    paid: int
    conversion: float | None
    series: list[OrderBucket]
