"""Background tasks a service owns for its lifetime."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from payments_common import retention
from payments_common.broker import Publisher
from payments_common.config import CommonSettings
from payments_common.outbox import OutboxRelay


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it has finished unwinding."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def start_outbox_work(
    stack: contextlib.AsyncExitStack, pool: asyncpg.Pool, publisher: Publisher, settings: CommonSettings, schema: str
) -> None:
    """The relay that publishes `schema`'s outbox and the retention that trims it and the inbox, both
    cancelled when `stack` closes."""
    relay = OutboxRelay(pool, publisher, dsn=settings.DATABASE_URL, schema=schema)
    kept = retention.Retention(inbox_days=settings.INBOX_RETENTION_DAYS, outbox_days=settings.OUTBOX_RETENTION_DAYS)
    for name, work in (("outbox-relay", relay.run()), ("retention", retention.run_forever(pool, kept))):
        stack.push_async_callback(cancel_and_wait, asyncio.create_task(work, name=name))
