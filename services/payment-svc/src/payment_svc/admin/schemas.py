"""The pydantic models of the admin API: the bodies it accepts and the anomalies it answers."""

from __future__ import annotations

from typing import Any

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


class Anomalies(BaseModel):
    anomalies: list[AnomalyView]
