"""`GET /admin/analytics`'s answer, as pydantic models (the console reads it with models of the same shape)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from payments_common.openapi import Timestamp


class AttemptCounts(BaseModel):
    attempted: int
    succeeded: int
    failed: int
    pending: int


class PaidInCurrency(BaseModel):
    currency: str
    count: int
    amount: int


class FailureReason(BaseModel):
    code: str
    count: int


class MethodMix(BaseModel):
    method: str
    attempted: int
    succeeded: int


class RefundAmount(BaseModel):
    currency: str
    amount: int
    pendingAmount: int


class RefundFigures(BaseModel):
    count: int
    pending: int
    processed: int
    failed: int
    amounts: list[RefundAmount]


class SettleSeconds(BaseModel):
    """Seconds from an attempt's creation to its settlement, over the attempts settled (p50, p95 null: none)."""

    count: int
    p50: float | None
    p95: float | None


class PaymentBucket(BaseModel):
    at: Timestamp
    attempted: int
    succeeded: int
    failed: int


class PaymentAnalytics(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: Timestamp = Field(alias="from")
    to: Timestamp
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
