"""What a service's start-up opens first, the same in each: its database pool and an HTTP client session."""

from __future__ import annotations

import contextlib

import aiohttp
import asyncpg

from payments_common import db
from payments_common.health import Live


async def open_pool_and_session(
    stack: contextlib.AsyncExitStack[bool | None],
    live: Live,
    dsn: str,
    schema: str,
    pool_size: int,
    timeout_seconds: float,
) -> tuple[asyncpg.Pool, aiohttp.ClientSession]:
    """The pool of the service's schema (handed to its readiness checks) and a client session whose calls
    time out after `timeout_seconds`; `stack` closes both, the session first."""
    pool = await db.create_pool(dsn, schema, pool_size)
    stack.push_async_callback(pool.close)
    live.pool = pool
    session = await stack.enter_async_context(
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_seconds))
    )
    return pool, session
