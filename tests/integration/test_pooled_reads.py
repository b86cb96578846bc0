"""The pool's connections skip asyncpg's reset query and still come back clean; SingleRead reads on a
pooled connection outside any transaction (SingleWrite writes so), and read_one_found answers as read_found
does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from payments_common import ids
from payments_common.db import PooledConnection
from payments_common.errors import ApiError
from payments_common.outbox import OutboxEvent
from payments_common.uow import ReadSnapshot, SingleRead, SingleWrite, UnitOfWork, read_found, read_one_found

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


async def test_single_write_commits_its_statement_alone_and_refuses_events(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE written (id int PRIMARY KEY)")
    async with SingleWrite(pool) as write:
        assert not write.conn.is_in_transaction()
        await write.conn.execute("INSERT INTO written VALUES (1)")
        # committed at once: another connection sees it before the unit ends
        assert await pool.fetchval("SELECT count(*) FROM written") == 1
        with pytest.raises(RuntimeError, match="no transaction"):
            write.emit(OutboxEvent("order", "order_1", "order.paid", "orders.events", "order.paid", {}))
    # a failing statement leaves nothing behind, and the connection goes back to the pool clean
    with pytest.raises(asyncpg.UniqueViolationError):
        async with SingleWrite(pool) as write:
            await write.conn.execute("INSERT INTO written VALUES (2), (1)")
    assert await pool.fetchval("SELECT array_agg(id) FROM written") == [1]
    assert pool.get_idle_size() == pool.get_size()
