"""A merchant's lists (order_svc.lists): every page query is one ordered range scan of its index at
1,000,000 rows (no sequential scan, no sort), and keyset paging over 10,000 orders, with orders inserted
all the while, shows each row once and skips none."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from order_svc.lists.domain import Cursor, Page
from order_svc.lists.repository import ListRepository

from .conftest import migrated_schema

MERCHANT = "rzp_lists"
BASE = datetime(2026, 1, 1, tzinfo=UTC)


class Recording:
    """Stands in for a connection: keeps each query a repository would run, answers nothing."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.queries.append((sql, args))
        return []


@pytest.fixture
async def order_schema(database_dsn: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    async with migrated_schema(database_dsn, "payments_common", "order_svc", size=8) as (name, pool):
        yield name, pool


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


async def test_every_page_is_a_range_scan_of_its_index_at_a_million_rows(
    order_schema: tuple[str, asyncpg.Pool],
) -> None:
    _, pool = order_schema
    async with pool.acquire() as conn:
        # a million orders over 1,000 merchants, each with an attempt; a tenth of them refunded, and every one
        # of the merchant's
        await conn.execute(
            """INSERT INTO orders (id, merchant_id, amount, currency, status, receipt, created_at, updated_at)
               SELECT 'order_' || lpad(i::text, 8, '0'), CASE WHEN i % 1000 = 0 THEN $1 ELSE 'm' || (i % 1000) END,
                      100, 'INR', (ARRAY['CREATED', 'PAID', 'FAILED'])[1 + i % 3], 'r' || (i % 5000),
                      $2::timestamptz + i * interval '1 second', $2::timestamptz
               FROM generate_series(1, 1000000) AS i""",
            MERCHANT,
            BASE,
        )
        await conn.execute(
            """INSERT INTO payment_views (id, order_id, status, amount, currency, version, created_at, updated_at)
               SELECT 'pay_' || substr(id, 7), id, (ARRAY['INITIATED', 'SUCCESS', 'FAILED'])[1 + random_i % 3],
                      100, 'INR', 1, created_at, created_at
               FROM (SELECT id, created_at, (hashtext(id) & 1023) AS random_i FROM orders) AS o"""
        )
        await conn.execute(
            """INSERT INTO refund_views (id, payment_id, order_id, amount, currency, status, version, created_at,
                                         updated_at)
               SELECT 'rfnd_' || substr(id, 5), id, order_id, 10, 'INR', 'PENDING', 1, created_at, created_at
               FROM payment_views WHERE hashtext(id) % 10 = 0 OR merchant_id = $1""",
            MERCHANT,
        )
        await conn.execute("ANALYZE")
        assert await conn.fetchval("SELECT count(*) FROM payment_views WHERE merchant_id = $1", MERCHANT) == 1000
    after = Cursor(BASE + timedelta(seconds=500_000), "order_00500000")
    pages = [Page(), Page(limit=100, after=after), Page(status="PAID"), Page(status="SUCCESS"), Page(status="PENDING")]
    recording = Recording()
    lists = ListRepository(recording)  # type: ignore[arg-type]
    for page in pages:
        await lists.orders(MERCHANT, page) if page.status not in ("SUCCESS", "PENDING") else None
        await lists.payments(MERCHANT, page) if page.status in (None, "SUCCESS") else None
        await lists.refunds(MERCHANT, page) if page.status in (None, "PENDING") else None
    await lists.orders(MERCHANT, Page(receipt="r1000", since=BASE, until=BASE + timedelta(days=30)))
    assert len(recording.queries) == 10
    async with pool.acquire() as conn:
        for sql, args in recording.queries:
            raw = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
            kinds = {node["Node Type"] for node in _nodes(plan["Plan"])}
            indexes = {node.get("Index Name") for node in _nodes(plan["Plan"])} - {None}
            assert "Seq Scan" not in kinds and "Sort" not in kinds and "Bitmap Heap Scan" not in kinds, (sql, kinds)
            assert any(name and "by_merchant" in name for name in indexes), (sql, indexes)
            assert plan["Execution Time"] < 100, (sql, plan["Execution Time"])


async def test_keyset_paging_shows_each_of_10000_orders_once_while_orders_are_inserted(
    order_schema: tuple[str, asyncpg.Pool],
) -> None:
    _, pool = order_schema
    async with pool.acquire() as conn:
        # three orders share each moment: the id breaks the tie, and a page may end inside a moment
        await conn.execute(
            """INSERT INTO orders (id, merchant_id, amount, currency, created_at, updated_at)
               SELECT 'order_' || lpad(i::text, 8, '0'), $1, 100, 'INR',
                      $2::timestamptz + (i / 3) * interval '1 millisecond', $2::timestamptz
               FROM generate_series(1, 10000) AS i""",
            MERCHANT,
            BASE,
        )
    seeded = {f"order_{i:08d}" for i in range(1, 10001)}
    stop = asyncio.Event()
    inserted = 0

    async def insert_all_the_while() -> None:
        nonlocal inserted
        while not stop.is_set():
            async with pool.acquire() as conn:
                await conn.execute(
                    "INSERT INTO orders (id, merchant_id, amount, currency) VALUES ($1, $2, 100, 'INR')",
                    f"order_new_{inserted:06d}",
                    MERCHANT,
                )
            inserted += 1
            await asyncio.sleep(0)

    writer = asyncio.create_task(insert_all_the_while())
    seen: list[str] = []
    moments: list[tuple[datetime, str]] = []
    after: Cursor | None = None
    try:
        while True:
            async with pool.acquire() as conn:
                rows = await ListRepository(conn).orders(MERCHANT, Page(limit=97, after=after))
            page = rows[:97]
            seen += [order.id for order in page]
            moments += [(order.created_at, order.id) for order in page]
            if len(rows) <= 97:
                break
            after = Cursor(page[-1].created_at, page[-1].id)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    assert inserted > 0
    assert len(seen) == len(set(seen)), "a row was shown twice"
    assert seeded <= set(seen), f"{len(seeded - set(seen))} rows skipped"
    assert moments == sorted(moments, reverse=True)
