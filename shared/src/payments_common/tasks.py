"""Background tasks a service owns for its lifetime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import asyncpg

from payments_common import retention
from payments_common.broker import Publisher
from payments_common.config import CommonSettings
from payments_common.outbox import OutboxRelay
from payments_common.ratelimit import RefusalTally, flush_refusals_forever

K = TypeVar("K")


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it has finished unwinding."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@contextlib.asynccontextmanager
async def logging_refusals(
    tally: RefusalTally[K], interval_seconds: float, write: Callable[[K | None, int], None], name: str
) -> AsyncIterator[None]:
    """While the block runs, a task named `name` writes out every `interval_seconds` the refusals `tally`
    counted but did not log (`flush_refusals_forever`); cancelled as the block ends."""
    task = asyncio.create_task(flush_refusals_forever(tally, interval_seconds, write), name=name)
    try:
        yield
    finally:
        await cancel_and_wait(task)


def start_outbox_work(
    stack: contextlib.AsyncExitStack, pool: asyncpg.Pool, publisher: Publisher, settings: CommonSettings, schema: str
) -> None:
    """The relay that publishes `schema`'s outbox and the retention that trims it and the inbox, both
    cancelled when `stack` closes."""
    relay = OutboxRelay(pool, publisher, dsn=settings.DATABASE_URL, schema=schema)
    kept = retention.Retention(inbox_days=settings.INBOX_RETENTION_DAYS, outbox_days=settings.OUTBOX_RETENTION_DAYS)
    for name, work in (("outbox-relay", relay.run()), ("retention", retention.run_forever(pool, kept))):
        stack.push_async_callback(cancel_and_wait, asyncio.create_task(work, name=name))
