"""The pool's connections skip asyncpg's reset query and still come back clean; SingleRead reads on a
pooled connection outside any transaction, and read_one_found answers as read_found does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from payments_common import ids
from payments_common.db import PooledConnection
from payments_common.errors import ApiError
from payments_common.uow import ReadSnapshot, SingleRead, UnitOfWork, read_found, read_one_found

pytestmark = pytest.mark.integration


async def test_pool_connections_send_no_reset_query(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        raw = conn._con  # the connection under asyncpg's pool proxy
        assert isinstance(raw, PooledConnection)
        assert raw.get_reset_query() == ""


async def test_a_transaction_left_open_is_rolled_back_on_release(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE pooled_t (v int)")
    conn = await pool.acquire()
    tx = conn.transaction()
    await tx.start()
    await conn.execute("INSERT INTO pooled_t VALUES (1)")
    await pool.release(conn)
    assert await pool.fetchval("SELECT count(*) FROM pooled_t") == 0
    async with pool.acquire() as again:
        assert not again.is_in_transaction()


async def test_single_read_runs_outside_a_transaction(pool: asyncpg.Pool) -> None:
    # now() is the transaction's start: two statements see two values only outside a transaction
    async with SingleRead(pool) as read:
        assert not read.conn.is_in_transaction()
        first = await read.conn.fetchval("SELECT now()")
        await read.conn.execute("SELECT pg_sleep(0.01)")
        assert await read.conn.fetchval("SELECT now()") > first
    async with ReadSnapshot(pool) as snapshot:
        assert snapshot.conn.is_in_transaction()
        first = await snapshot.conn.fetchval("SELECT now()")
        await snapshot.conn.execute("SELECT pg_sleep(0.01)")
        assert await snapshot.conn.fetchval("SELECT now()") == first
    with pytest.raises(RuntimeError):
        _ = read.conn  # released on the way out


async def test_single_read_emits_nothing_and_leaves_the_connection_free(pool: asyncpg.Pool) -> None:
    size = pool.get_size()
    for _ in range(size * 3):
        async with SingleRead(pool) as read:
            assert await read.conn.fetchval("SELECT 1") == 1
    assert pool.get_idle_size() == pool.get_size()
    async with UnitOfWork(pool) as uow:
        assert uow.conn.is_in_transaction()


async def test_read_one_found_answers_as_read_found(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE things (id text PRIMARY KEY, n int)")
    thing = ids.new_id(ids.ORDER)
    await pool.execute("INSERT INTO things VALUES ($1, 7)", thing)

    def reading(wanted: str) -> Callable[[ReadSnapshot], Awaitable[int | None]]:
        async def read(snapshot: ReadSnapshot) -> int | None:
            value: int | None = await snapshot.conn.fetchval("SELECT n FROM things WHERE id = $1", wanted)
            return value

        return read

    for finder in (read_found, read_one_found):
        assert await finder(pool, "order", ids.ORDER, thing, reading(thing)) == 7
        for wanted in (ids.new_id(ids.ORDER), "not-an-id"):
            with pytest.raises(ApiError) as raised:
                await finder(pool, "order", ids.ORDER, wanted, reading(wanted))
            assert raised.value.status == 404
