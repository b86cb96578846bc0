"""Fill a migrated, idle database with a history of settled payments, as a system that has run for a while
holds: the benchmark's growth run (`bench --growth`, `--preload N`) measures the lifecycle against it.

    .venv/bin/python -m benchmarks.preload --database-url postgresql://postgres@127.0.0.1:5432/scratch

N orders (default 1,000,000) over ~90 days, the newest an hour old, spread over several merchants (the
bench's own among them, the biggest) with a skew: 72 % PAID, 18 % FAILED, 10 % CREATED (never paid, no
attempt). Each PAID or FAILED order gets the rows one lifecycle leaves behind (as
`benchmarks/lifecycle.pgbench.sql` and a real run's rows show): its attempt in payment-svc
(`order_payments`, `payments`, three `payment_events`), the gateway's record of it (`gateway.payments`, its
settlement webhook `gateway.deliveries` delivered, one 2xx try), order-svc's view, the merchant events
merchant-webhooks recorded, and, as far as the services' retention keeps them, the outbox rows published
(`published_at` set: the relays' partial index skips them) and every consumer's inbox claim. Each service
purges published outbox rows past OUTBOX_RETENTION_DAYS (7) and inbox claims past INBOX_RETENTION_DAYS (30)
at start and hourly: a system in its steady state holds those days of them, and preloading older ones
would have the purge delete millions of rows in the middle of the measured run. No duplicates, refunds or
retries: the hot path's tables at their steady state, not the fault mix.

Ids are the services' own formats with UUIDv7 of each row's own time (days ago): a run's ids, minted now,
sort after every preloaded one and cannot collide with them (72 bits each from SHA-512 of a fresh seed and
the order's number besides), and the indexes grow at their right edge as they do in production. Merchant
event ids are `evt_` and 20 base62 characters, drawn rather than derived (the services derive them from
entity ids, which a run's never share).

Server-side (the SQL is `benchmarks.preload_sql`): each batch is one transaction of `INSERT ... SELECT`
from one temporary table of the batch's rows, `--workers` connections at once. Each batch is recorded in
`bench_preload.batches`, so a rerun into the same database adds only the batches missing (the bench makes
its database afresh each run anyway). Then `VACUUM (ANALYZE)` of every table written, as autovacuum would
have done long since (left to it, it would start on these tables in the middle of the measured run), and
a CHECKPOINT so that the run does not pay for writing the preload out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from benchmarks.load import Progress
from benchmarks.preload_sql import FILL, INSERTS, SESSION, SETUP, TABLES
from payments_common.config import CommonSettings

DEFAULT_ORDERS = 1_000_000
BATCH = 100_000
SPAN = timedelta(days=90)
# the newest preloaded order is this old: well before any run's first id
NEWEST_AGE = timedelta(hours=1)
OTHER_MERCHANTS = 8
# published outbox rows and inbox claims are preloaded only this far inside the services' retention: each
# service purges what is past it at start and hourly, and a purge in the middle of the measured run would
# be its own load. A system in its steady state holds them for the retention's days, no older ones
RETENTION_MARGIN = timedelta(hours=2)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class Plan:
    """What to preload: `orders` orders over `merchants` (biggest first), the first at `start`."""

    orders: int
    merchants: tuple[str, ...]
    start: datetime
    step_s: float
    batch: int = BATCH
    # what the rows' ids are drawn from: a fresh one per plan
    seed: str = ""
    # the oldest published outbox row and inbox claim the services' retention keeps (none before it)
    outbox_since: datetime | None = None
    inbox_since: datetime | None = None

    @classmethod
    def make(cls, orders: int, own_merchants: list[str], *, others: int = OTHER_MERCHANTS, batch: int = BATCH) -> Plan:
        now = datetime.now(UTC)
        start = now - NEWEST_AGE - SPAN
        step = SPAN.total_seconds() / max(orders - 1, 1)
        merchants = (*own_merchants, *(other_merchant_id() for _ in range(others)))
        return cls(
            orders=orders,
            merchants=merchants,
            start=start,
            step_s=step,
            batch=batch,
            seed=secrets.token_hex(16),
            outbox_since=now - retention_days("OUTBOX_RETENTION_DAYS") + RETENTION_MARGIN,
            inbox_since=now - retention_days("INBOX_RETENTION_DAYS") + RETENTION_MARGIN,
        )

    def batches(self) -> list[tuple[int, int]]:
        """(first, last) order numbers of each batch, 1-based and inclusive."""
        return [(lo, min(lo + self.batch - 1, self.orders)) for lo in range(1, self.orders + 1, self.batch)]


def retention_days(name: str) -> timedelta:
    """The services' retention (`OUTBOX_RETENTION_DAYS`, `INBOX_RETENTION_DAYS`): from the environment the
    system is started with, else their default."""
    default = CommonSettings.model_fields[name].default
    return timedelta(days=float(os.environ.get(name) or default))


def other_merchant_id() -> str:
    """A merchant as order-svc makes them: `merch_` and 14 base62 characters."""
    return "merch_" + "".join(secrets.choice(_BASE62) for _ in range(14))


def merchants_of(api_keys: str) -> list[str]:
    """The merchants of an API_KEYS value (`key_id:secret,…`): order-svc files a seeded key's rows under its id."""
    return [item.split(":", 1)[0].strip() for item in api_keys.split(",") if item.strip()]


async def _session(conn: asyncpg.Connection) -> None:
    # the preload's own commits need not wait for the disk: a crash loses a batch, which is not recorded either
    await conn.execute("SET synchronous_commit = off")
    # a batch's rows pass through CTEs (materialised: random() is volatile) and its sorts: in memory
    await conn.execute("SET work_mem = '256MB'")
    await conn.execute("SET temp_buffers = '256MB'")  # before the session's first temporary table
    await conn.execute(SESSION)
    # no triggers, foreign keys included: every row is consistent by construction, and payment_views'
    # merchant_id (the trigger's) is written here; a non-superuser keeps both, at some cost in time
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await conn.execute("SET session_replication_role = replica")


async def _one_batch(conn: asyncpg.Connection, plan: Plan, first: int, last: int) -> None:
    async with conn.transaction():
        claimed = await conn.fetchval(
            "INSERT INTO bench_preload.batches (first, last) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
            first,
            last,
        )
        if claimed is None:  # done by an earlier run into this database
            return
        await conn.execute(
            FILL,
            first,
            last,
            list(plan.merchants),
            plan.start.timestamp() * 1000,
            plan.step_s * 1000,
            plan.seed,
            (plan.outbox_since or plan.start).timestamp() * 1000,
            (plan.inbox_since or plan.start).timestamp() * 1000,
        )
        for statement in INSERTS:
            await conn.execute(statement)


async def preload(dsn: str, plan: Plan, *, workers: int = 2, quiet: bool = False) -> dict[str, Any]:
    """Preload `plan` into the migrated database at `dsn`; returns the seconds each part took and the rows
    each table holds afterwards."""
    started = time.monotonic()
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(SETUP)
        done = {r["first"] for r in await admin.fetch("SELECT first FROM bench_preload.batches")}
        await admin.executemany(
            "INSERT INTO orders.merchants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING",
            [(m,) for m in plan.merchants],
        )
    finally:
        await admin.close()
    todo = [b for b in plan.batches() if b[0] not in done]
    progress = Progress(plan.orders, "preload orders", enabled=not quiet)
    progress.advance(plan.orders - sum(last - first + 1 for first, last in todo))
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for item in todo:
        queue.put_nowait(item)

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await _session(conn)
            while not queue.empty():
                first, last = queue.get_nowait()
                await _one_batch(conn, plan, first, last)
                progress.advance(last - first + 1)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(todo) or 1)))))
    progress.close()
    inserted = time.monotonic()
    await _vacuum(dsn, workers, quiet)
    vacuumed = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        # a superuser's (or pg_checkpoint's) right; without it the run may share the disk with the checkpointer
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")
        rows = {table: int(await conn.fetchval(f"SELECT count(*) FROM {table}")) for table in TABLES}
    finally:
        await conn.close()
    return {
        "orders": plan.orders,
        "merchants": list(plan.merchants),
        "insert_s": round(inserted - started, 1),
        "vacuum_analyze_s": round(vacuumed - inserted, 1),
        "total_s": round(time.monotonic() - started, 1),
        "rows": rows,
    }


async def _vacuum(dsn: str, workers: int, quiet: bool) -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for table in TABLES:
        queue.put_nowait(table)
    progress = Progress(len(TABLES), "preload vacuum, analyze", enabled=not quiet)

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            while not queue.empty():
                await conn.execute(f"VACUUM (ANALYZE) {queue.get_nowait()}")
                progress.advance()
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(max(1, workers))))
    progress.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a migrated database")
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--workers", type=int, default=2, help="connections inserting at once (2)")
    parser.add_argument("--api-keys", default=os.environ.get("API_KEYS", ""), help="its merchants come first")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) names the database")
    plan = Plan.make(args.orders, merchants_of(args.api_keys), batch=args.batch)
    result = asyncio.run(preload(args.database_url, plan, workers=args.workers, quiet=args.quiet))
    print(
        f"preloaded {result['orders']} orders in {result['total_s']} s "
        f"(inserts {result['insert_s']} s, vacuum and analyze {result['vacuum_analyze_s']} s)"
    )
    for table, n in result["rows"].items():
        print(f"  {table:<28} {n:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
