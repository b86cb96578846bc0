"""The bodies the admin API accepts (its answers are payments_common's admin-API contract)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from payments_common import dlq
from payments_common.errors import BAD_REQUEST, ApiError


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


class ResolveBody(BaseModel):
    """`resolve`: mark it resolved; `refund`: give back money captured for a payment kept FAILED, then mark it."""

    model_config = ConfigDict(extra="forbid")

    operator: str = Field(min_length=1, max_length=64)
    action: Literal["resolve", "refund"]
    note: str = Field(min_length=1, max_length=500)
