"""Units of work per second through the library's own pool and unit-of-work classes, against the real
PostgreSQL: what one round trip less per unit buys, measured beside the way it was done before.

    .venv/bin/python -m benchmarks.round_trips                    # every variant, 16 clients, median of 3
    .venv/bin/python -m benchmarks.round_trips --clients 32 --seconds 5 --runs 5

Each variant runs `--runs` times for `--seconds` with `--clients` concurrent tasks, interleaved (a, b, c,
a, b, c, ...) so that the other work on a shared machine falls on all of them alike; it prints the median
rate and this process's CPU per unit, each with its ratio to the first variant of its group. It makes a
throwaway database and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from benchmarks.bench import SERVER_DSN, fresh_database
from payments_common import db
from payments_common.migrate import load_migrations, migrate
from payments_common.outbox import OutboxEvent
from payments_common.uow import ReadSnapshot, SingleRead, UnitOfWork

NAME = "payments_round_trips"
SCHEMA = "bench"
ROWS = 1000


@dataclass(frozen=True)
class Variant:
    group: str
    name: str
    # the pool's connection class: asyncpg's own (reset query on release) or the library's
    connection_class: type[asyncpg.Connection]
    unit: Callable[[asyncpg.Pool, int], Awaitable[None]]


async def _read_in(kind: type[UnitOfWork], pool: asyncpg.Pool, i: int) -> None:
    async with kind(pool) as unit:
        row = await unit.conn.fetchrow("SELECT id, amount FROM orders WHERE id = $1", f"o{i % ROWS}")
        assert row is not None


async def snapshot_read(pool: asyncpg.Pool, i: int) -> None:
    await _read_in(ReadSnapshot, pool, i)


async def single_read(pool: asyncpg.Pool, i: int) -> None:
    await _read_in(SingleRead, pool, i)


async def write_unit(pool: asyncpg.Pool, i: int) -> None:
    async with UnitOfWork(pool) as uow:
        await uow.conn.execute("UPDATE orders SET amount = amount + 1 WHERE id = $1", f"o{i % ROWS}")


def _event(i: int) -> OutboxEvent:
    return OutboxEvent("order", f"o{i % ROWS}", "order.paid", "orders.events", "order.paid", {"i": i, "pad": "x" * 400})


async def unit_with_event(pool: asyncpg.Pool, i: int) -> None:
    """One update and one event through the library's unit of work (its outbox write)."""
    async with UnitOfWork(pool) as uow:
        await uow.conn.execute("UPDATE orders SET amount = amount + 1 WHERE id = $1", f"o{i % ROWS}")
        uow.emit(_event(i))


async def unit_with_event_two_statements(pool: asyncpg.Pool, i: int) -> None:
    """The same, the event written as the outbox did before: the rows by executemany, then the NOTIFY."""
    async with UnitOfWork(pool) as uow:
        await uow.conn.execute("UPDATE orders SET amount = amount + 1 WHERE id = $1", f"o{i % ROWS}")
        e = _event(i)
        await uow.conn.executemany(
            """INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key,
                                   payload, headers)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            [(e.id, e.aggregate_type, e.aggregate_id, e.event_type, e.exchange, e.routing_key, e.payload, e.headers)],
        )
        await uow.conn.execute("SELECT pg_notify('outbox_' || current_schema(), '')")


VARIANTS = [
    Variant("read of one row", "ReadSnapshot, asyncpg's reset on release", asyncpg.Connection, snapshot_read),
    Variant("read of one row", "ReadSnapshot, no reset query", db.PooledConnection, snapshot_read),
    Variant("read of one row", "SingleRead, no reset query", db.PooledConnection, single_read),
    Variant("unit of work, one update", "asyncpg's reset on release", asyncpg.Connection, write_unit),
    Variant("unit of work, one update", "no reset query", db.PooledConnection, write_unit),
    Variant("update and one event", "outbox rows, then NOTIFY", db.PooledConnection, unit_with_event_two_statements),
    Variant("update and one event", "outbox write in one statement", db.PooledConnection, unit_with_event),
]


async def rate(dsn: str, variant: Variant, clients: int, seconds: float) -> tuple[float, float]:
    """Units per second, and this process's CPU microseconds per unit (the service's side of the cost,
    which the other work on the machine disturbs far less than the rate)."""
    pool = await db.create_pool(dsn, SCHEMA, clients, connection_class=variant.connection_class)
    try:
        counter = iter(range(10**12))
        deadline = time.monotonic() + seconds
        done = 0

        async def client() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                await variant.unit(pool, next(counter))
                done += 1

        started, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(client() for _ in range(clients)))
        return done / (time.monotonic() - started), (time.process_time() - cpu) * 1e6 / max(done, 1)
    finally:
        await pool.close()


async def run(args: argparse.Namespace) -> None:
    dsn = await fresh_database(NAME)
    await migrate(dsn, SCHEMA, load_migrations("payments_common"))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            f"CREATE TABLE {SCHEMA}.orders (id text PRIMARY KEY, amount bigint NOT NULL);"
            f"INSERT INTO {SCHEMA}.orders SELECT 'o' || g, 100 FROM generate_series(0, {ROWS - 1}) g"
        )
    finally:
        await conn.close()
    rates: dict[str, list[tuple[float, float]]] = {v.name + v.group: [] for v in VARIANTS}
    try:
        for _ in range(args.runs):
            for variant in VARIANTS:
                rates[variant.name + variant.group].append(await rate(dsn, variant, args.clients, args.seconds))
    finally:
        server = await asyncpg.connect(SERVER_DSN)
        try:
            await server.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        finally:
            await server.close()
    print(f"{args.clients} clients, {args.seconds:g} s per run, median of {args.runs}")
    first: dict[str, tuple[float, float]] = {}
    for variant in VARIANTS:
        runs = rates[variant.name + variant.group]
        median = statistics.median(r for r, _ in runs), statistics.median(c for _, c in runs)
        base = first.setdefault(variant.group, median)
        print(
            f"  {variant.group:26} {variant.name:42} {median[0]:8.0f}/s {median[0] / base[0]:5.2f}x"
            f"  {median[1]:6.0f} us CPU/unit {median[1] / base[1]:5.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
