"""Retention: published outbox rows and old inbox claims are deleted, a batch at a time.

Inbox claims are what make a redelivery a no-op, so they are kept far longer than any message may
come back: the broker's retries take minutes, a dead letter waits for an operator for days. Outbox
rows are only history once published. Unpublished rows are never touched.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from payments_common.logging import get_logger
from payments_common.timeutil import utcnow

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Retention:
    inbox_days: float = 30.0
    outbox_days: float = 7.0
    batch_size: int = 5_000


async def purge_once(pool: asyncpg.Pool, retention: Retention) -> tuple[int, int]:
    """Delete what is past retention; return (outbox rows, inbox rows) deleted."""
    now = utcnow()
    outbox = await _delete_in_batches(
        pool,
        """DELETE FROM outbox WHERE id IN (
               SELECT id FROM outbox WHERE published_at IS NOT NULL AND published_at < $1 LIMIT $2)""",
        now - timedelta(days=retention.outbox_days),
        retention.batch_size,
    )
    inbox = await _delete_in_batches(
        pool,
        """DELETE FROM inbox WHERE (consumer, message_id) IN (
               SELECT consumer, message_id FROM inbox WHERE processed_at < $1 LIMIT $2)""",
        now - timedelta(days=retention.inbox_days),
        retention.batch_size,
    )
    return outbox, inbox


async def _delete_in_batches(pool: asyncpg.Pool, statement: str, cutoff: object, batch_size: int) -> int:
    # small transactions, so a large backlog never holds locks or bloats one transaction
    total = 0
    while True:
        async with pool.acquire() as conn:
            status = await conn.execute(statement, cutoff, batch_size)
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch_size:
            return total


async def run_forever(pool: asyncpg.Pool, retention: Retention, interval_seconds: float = 3600.0) -> None:
    while True:
        try:
            outbox, inbox = await purge_once(pool, retention)
            if outbox or inbox:
                log.info("retention.purged", outbox_rows=outbox, inbox_rows=inbox)
        except Exception as exc:
            log.warning("retention.failed", error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(interval_seconds)
