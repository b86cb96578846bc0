"""The inbox against PostgreSQL: one claim per (consumer, message id), released by a rollback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from payments_common import inbox
from payments_common.db import connect

from .helpers import eventually, is_waiting_on_lock


@contextlib.asynccontextmanager
async def connections(dsn: str, schema: str, n: int) -> AsyncIterator[list[asyncpg.Connection]]:
    conns = list(await asyncio.gather(*(connect(dsn, schema) for _ in range(n))))
    try:
        yield conns
    finally:
        await asyncio.gather(*(c.close() for c in conns))


async def test_claim_is_true_once_per_consumer_and_message(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await inbox.claim(conn, "payment-svc.webhooks", "evt_1") is True
        assert await inbox.claim(conn, "payment-svc.webhooks", "evt_1") is False
        # another consumer of the same message, and another message, are independent
        assert await inbox.claim(conn, "order-svc.payment-events", "evt_1") is True
        assert await inbox.claim(conn, "payment-svc.webhooks", "evt_2") is True
        assert await inbox.claim(conn, "order-svc.payment-events", "evt_1") is False
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 3


async def test_claim_in_a_rolled_back_transaction_can_be_claimed_again(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="apply failed"):
            async with conn.transaction():
                assert await inbox.claim(conn, "c", "evt_1") is True
                raise RuntimeError("apply failed")
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 0
        async with conn.transaction():
            assert await inbox.claim(conn, "c", "evt_1") is True
        assert await inbox.claim(conn, "c", "evt_1") is False


@pytest.mark.parametrize(("first_commits", "second_claims"), [(True, False), (False, True)])
async def test_duplicate_claim_waits_for_the_first_transaction(
    database_dsn: str, schema: str, pool: asyncpg.Pool, first_commits: bool, second_claims: bool
) -> None:
    """A concurrent duplicate blocks on the key, then sees the first one's outcome."""
    async with connections(database_dsn, schema, 2) as (first, second):
        first_tx = first.transaction()
        await first_tx.start()
        assert await inbox.claim(first, "c", "evt_1") is True

        second_tx = second.transaction()
        await second_tx.start()
        pending = asyncio.create_task(inbox.claim(second, "c", "evt_1"))
        # watched from outside both transactions: pg_stat_activity is read once per transaction
        async with pool.acquire() as observer:
            await eventually(
                lambda: is_waiting_on_lock(observer, second.get_server_pid()), 5.0, "the duplicate to block"
            )
        assert not pending.done()

        await (first_tx.commit() if first_commits else first_tx.rollback())
        assert await asyncio.wait_for(pending, 5.0) is second_claims
        await second_tx.commit()
        assert await first.fetchval("SELECT count(*) FROM inbox") == 1


async def test_concurrent_claims_of_one_message_give_exactly_one_winner(database_dsn: str, schema: str) -> None:
    n = 10
    async with connections(database_dsn, schema, n) as conns:
        everyone_in_a_transaction = asyncio.Barrier(n)

        async def claim(conn: asyncpg.Connection) -> bool:
            async with conn.transaction():
                await conn.execute("SELECT 1")  # the transaction is open on the server
                await everyone_in_a_transaction.wait()
                return await inbox.claim(conn, "c", "evt_contended")

        results = await asyncio.wait_for(asyncio.gather(*(claim(c) for c in conns)), 10)

        assert sorted(results) == [False] * (n - 1) + [True]
        assert await conns[0].fetchval("SELECT count(*) FROM inbox WHERE message_id = 'evt_contended'") == 1
