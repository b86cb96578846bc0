"""payment-svc's answers about the machinery: dead letters (`GET /admin/dlq`, `GET /admin/dlq/{id}`, requeue
and purge), `GET /admin/outbox`, `GET /admin/queues`, `GET /admin/reconcile/last`; and every service's
`GET /readyz`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from payments_common.admin_api import Answer
from payments_common.dlq import DeadLetterView
from payments_common.openapi import Timestamp


class DeadLetterQueue(Answer):
    queue: str
    origin_queue: str
    exists: bool
    messages: int
    scanned: int


class DeadLetterGroup(Answer):
    origin_queue: str
    reason: str
    count: int
    oldest_age_seconds: float | None


class DeadLetterListing(Answer):
    queues: list[DeadLetterQueue]
    groups: list[DeadLetterGroup]
    messages: list[DeadLetterView] | None
    truncated: bool


class DeadLetterMessages(Answer):
    messages: list[DeadLetterView]


class OperationOutcome(Answer):
    id: str
    queue: str
    origin_queue: str
    reason: str
    status: str
    error: str | None


class OperationResult(Answer):
    action: str
    dry_run: bool
    selected: int
    succeeded: int
    failed: int
    missing_ids: list[str]
    messages: list[OperationOutcome]


class OutboxSchema(Answer):
    schema_: str = Field(alias="schema")
    exists: bool
    unpublished: int | None = None
    oldest_unpublished_age_seconds: float | None = None
    retrying: int | None = None
    published_last_minute: int | None = None


class OutboxStatus(Answer):
    schemas: list[OutboxSchema]


class QueueDepth(Answer):
    queue: str
    messages: int | None
    consumers: int | None
    exists: bool = True


class QueueDepths(Answer):
    queues: list[QueueDepth]


class ReconcileRun(Answer):
    startedAt: Timestamp
    finishedAt: Timestamp | None = None
    checked: int
    settled: int
    stillPending: int
    republished: int
    errors: list[dict[str, Any]]


class ReconcileLast(Answer):
    """The reconciler's last pass since this process started (timed or asked for); null before the first."""

    lastRun: ReconcileRun | None


class Readiness(Answer):
    service: str
    state: Literal["ready", "not ready", "unknown", "down"]
    reason: str
