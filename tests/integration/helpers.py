"""Polling with a deadline instead of sleeping, and small broker and database helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

POLL_SECONDS = 0.02


async def eventually(check: Callable[[], Awaitable[bool] | bool], within: float = 5.0, what: str = "") -> float:
    """Poll `check` until it holds; return the seconds it took, fail after `within` seconds."""
    start = time.monotonic()
    deadline = start + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - start
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what or check}")
        await asyncio.sleep(POLL_SECONDS)


async def get_message(queue: AbstractQueue, within: float = 5.0) -> AbstractIncomingMessage:
    """The next message of `queue` (acknowledged on receipt), waiting up to `within` seconds for one."""
    found: list[AbstractIncomingMessage] = []

    async def arrived() -> bool:
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            found.append(message)
        return bool(found)

    await eventually(arrived, within, f"a message in {queue.name}")
    return found[0]


async def drain(queue: AbstractQueue) -> list[AbstractIncomingMessage]:
    """Everything `queue` holds right now."""
    messages = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        messages.append(message)
    return messages


async def is_waiting_on_lock(conn: asyncpg.Connection, pid: int) -> bool:
    """True while backend `pid` is blocked on a heavyweight lock (a row or a unique key)."""
    wait = await conn.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid)
    return bool(wait == "Lock")


async def outbox_types(pool: asyncpg.Pool, aggregate_id: str) -> list[str]:
    """The event types the outbox holds for one aggregate (a payment, a refund), oldest first."""
    rows = await pool.fetch("SELECT event_type FROM outbox WHERE aggregate_id = $1 ORDER BY created_at", aggregate_id)
    return [row["event_type"] for row in rows]
