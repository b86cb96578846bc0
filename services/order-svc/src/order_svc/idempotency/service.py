"""Expired keys purged in the background, in small batches, for as long as the service runs."""

from __future__ import annotations

import asyncio

import asyncpg

from order_svc.idempotency.repository import purge_expired
from payments_common.logging import get_logger

log = get_logger(__name__)

PURGE_INTERVAL_SECONDS = 3600.0


async def purge_forever(pool: asyncpg.Pool, interval_seconds: float = PURGE_INTERVAL_SECONDS) -> None:
    while True:
        try:
            deleted = await purge_expired(pool)
            if deleted:
                log.info("idempotency.purged", keys=deleted)
        except Exception as exc:
            log.warning("idempotency.purge_failed", error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(interval_seconds)
