"""Everything the health page shows, asked of the services at once; what fails is shown as failing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Generic, TypeVar

from payments_common.admin_api.operations import OutboxStatus, QueueDepths, Readiness, ReconcileLast
from payments_console.admin_api.client import AdminApi, AdminApiError, NotFound

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Part(Generic[T]):
    value: T | None
    # None: answered; "unknown": the route does not exist yet; otherwise why it failed
    problem: str | None


async def _part(call: Awaitable[T]) -> Part[T]:
    try:
        return Part(await call, None)
    except NotFound:
        return Part(None, "unknown: the service has no such route yet")
    except AdminApiError as exc:
        return Part(None, str(exc))


@dataclass(frozen=True, slots=True)
class Health:
    readiness: list[Readiness]
    outbox: Part[OutboxStatus]
    queues: Part[QueueDepths]
    reconcile: Part[ReconcileLast]


async def health(api: AdminApi, services: tuple[str, ...]) -> Health:
    readiness, outbox, queues, reconcile = await asyncio.gather(
        asyncio.gather(*(api.readiness(name) for name in services)),
        _part(api.outbox()),
        _part(api.queues()),
        _part(api.reconcile_last()),
    )
    return Health(list(readiness), outbox, queues, reconcile)
