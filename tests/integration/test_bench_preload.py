"""The growth run's preload into a fresh database made as `make bench` makes its own: every table holds the
rows of a settled lifecycle per preloaded payment, the services' own queries find them, the chaos tier's
invariants hold over them, a second preload into the same database adds nothing, and the bench's checks
scoped to a run's orders leave the preloaded ones out."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import checks, preload
from benchmarks.bench import SERVER_DSN, fresh_database
from order_svc.orders.repository import OrderRepository
from payment_svc.attempts.repository import PaymentRepository
from payments_common import db, ids, retention
from payments_tools.migrate_cli import migrate_all
from tests.chaos import invariants, observe

pytestmark = pytest.mark.integration

ORDERS = 2_000
OWN = ["rzp_test_preload_a", "rzp_test_preload_b"]


@pytest.fixture(scope="module")
async def preloaded() -> AsyncIterator[tuple[str, dict[str, Any], preload.Plan]]:
    name = f"payments_it_preload_{uuid.uuid4().hex[:12]}"
    dsn = await fresh_database(name)
    try:
        await migrate_all(dsn)
        plan = preload.Plan.make(ORDERS, OWN, batch=600)
        result = await preload.preload(dsn, plan, workers=2, quiet=True)
        yield dsn, result, plan
    finally:
        conn = await asyncpg.connect(SERVER_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {table: int(await conn.fetchval(f"SELECT count(*) FROM {table}")) for table in preload.TABLES}
    finally:
        await conn.close()


async def test_every_table_holds_one_settled_lifecycle_per_payment(
    preloaded: tuple[str, dict[str, Any], preload.Plan],
) -> None:
    dsn, result, plan = preloaded
    conn = await asyncpg.connect(dsn)
    try:
        by_status = dict(await conn.fetch("SELECT status, count(*) FROM orders.orders GROUP BY status"))

        async def recent(status: str, since: object) -> int:
            # attempts made since the retention's cutoff: their outbox rows or inbox claims are kept
            return int(
                await conn.fetchval(
                    """SELECT count(*) FROM payments.payments p JOIN orders.orders o ON o.id = p.order_id
                        WHERE o.status = ANY($1::text[]) AND p.created_at >= $2""",
                    ["PAID", "FAILED"] if status == "settled" else [status],
                    since,
                )
            )

        outbox_settled, outbox_paid = (
            await recent("settled", plan.outbox_since),
            await recent("PAID", plan.outbox_since),
        )
        inbox_settled, inbox_paid = await recent("settled", plan.inbox_since), await recent("PAID", plan.inbox_since)
    finally:
        await conn.close()
    paid, failed, created = by_status["PAID"], by_status["FAILED"], by_status["CREATED"]
    settled = paid + failed
    assert paid + failed + created == ORDERS
    assert paid > failed > 0 and created > 0
    # 90 days of orders, 7 of outbox rows and 30 of inbox claims
    assert 0 < outbox_paid < outbox_settled < inbox_settled < settled
    assert 0 < inbox_paid < paid

    assert result["rows"] == await counts(dsn)
    assert result["rows"] == {
        "orders.merchants": len(OWN) + preload.OTHER_MERCHANTS,
        "orders.orders": ORDERS,
        "orders.payment_views": settled,
        # merchant.payment.captured or .failed; order.paid and merchant.order.paid
        "orders.outbox": outbox_settled + 2 * outbox_paid,
        # payment.initiated, then payment.succeeded or .failed
        "orders.inbox": 2 * inbox_settled,
        "payments.order_payments": settled,
        "payments.payments": settled,
        # created, sent_to_gateway, settled
        "payments.payment_events": 3 * settled,
        "payments.outbox": 2 * outbox_settled,
        # the settlement webhook; order.paid confirmed
        "payments.inbox": inbox_settled + inbox_paid,
        "gateway.payments": settled,
        "gateway.deliveries": settled,
        "gateway.delivery_attempts": settled,
        "merchant_webhooks.events": settled + paid,
        "merchant_webhooks.inbox": inbox_settled + inbox_paid,
    }


async def test_nothing_preloaded_is_past_the_services_retention(
    preloaded: tuple[str, dict[str, Any], preload.Plan],
) -> None:
    dsn, _, _ = preloaded
    purged = {}
    for schema in ("orders", "payments", "merchant_webhooks"):
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, server_settings={"search_path": schema})
        assert pool is not None
        try:
            # what the service's retention deletes at its start, with the default days
            purged[schema] = await retention.purge_once(pool, retention.Retention())
        finally:
            await pool.close()
    assert purged == {"orders": (0, 0), "payments": (0, 0), "merchant_webhooks": (0, 0)}


async def test_ids_have_the_services_formats_and_predate_any_run(
    preloaded: tuple[str, dict[str, Any], preload.Plan],
) -> None:
    dsn, _, _ = preloaded
    conn = await asyncpg.connect(dsn)
    try:
        orders = [r["id"] for r in await conn.fetch("SELECT id FROM orders.orders")]
        payments = await conn.fetch("SELECT id, gateway_payment_id FROM payments.payments")
        events = [r["event_id"] for r in await conn.fetch("SELECT event_id FROM gateway.deliveries")]
        unpublished = await conn.fetchval(
            "SELECT (SELECT count(*) FROM orders.outbox WHERE published_at IS NULL)"
            " + (SELECT count(*) FROM payments.outbox WHERE published_at IS NULL)"
        )
        merchant_events = [r["id"] for r in await conn.fetch("SELECT id FROM merchant_webhooks.events")]
    finally:
        await conn.close()
    assert all(ids.is_valid(ids.ORDER, o) for o in orders)
    assert all(ids.is_valid(ids.PAYMENT, p["id"]) for p in payments)
    assert all(ids.is_valid(ids.GATEWAY_PAYMENT, p["gateway_payment_id"]) for p in payments)
    assert all(ids.is_valid(ids.EVENT, e) for e in events)
    assert all(len(e) == 24 and e.startswith("evt_") and e[4:].isalnum() for e in merchant_events)
    # UUIDv7 of their own (past) time: every id a run mints now sorts after them
    fresh = ids.new_id(ids.ORDER)
    assert max(orders) < fresh
    assert all(uuid.UUID(o.removeprefix("order_")).version == 7 for o in orders)
    assert unpublished == 0


async def test_the_services_own_queries_find_the_preloaded_rows(
    preloaded: tuple[str, dict[str, Any], preload.Plan],
) -> None:
    dsn, _, _ = preloaded
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """SELECT o.id, o.merchant_id, p.id AS payment_id FROM orders.orders o
                 JOIN payments.payments p ON p.order_id = o.id
                WHERE o.status = 'PAID' AND o.merchant_id = $1 LIMIT 1""",
            OWN[0],
        )
    finally:
        await conn.close()
    assert row is not None, "the bench's own merchant has paid orders"

    orders_conn = await db.connect(dsn, "orders")
    try:
        order = await OrderRepository(orders_conn).get(row["id"], row["merchant_id"])
        other_merchant = await OrderRepository(orders_conn).get(row["id"], OWN[1])
    finally:
        await orders_conn.close()
    assert order is not None and order.status == "PAID"
    assert other_merchant is None

    payments_conn = await db.connect(dsn, "payments")
    try:
        payment = await PaymentRepository(payments_conn).get(row["payment_id"])
        order_payments = await PaymentRepository(payments_conn).lock_existing_order(row["id"])
        in_flight = await payments_conn.fetchval(
            "SELECT count(*) FROM payments WHERE order_id = $1 AND status IN ('INITIATED', 'AUTHORIZED')", row["id"]
        )
    finally:
        await payments_conn.close()
    assert payment is not None and payment.status == "SUCCESS" and payment.order_id == row["id"]
    assert order_payments is not None and order_payments.paid_payment_id == row["payment_id"]
    assert in_flight == 0


async def test_the_chaos_invariants_hold_over_the_preloaded_payments(
    preloaded: tuple[str, dict[str, Any], preload.Plan],
) -> None:
    dsn, _, _ = preloaded
    conn = await asyncpg.connect(dsn)
    try:
        sample = [r["id"] for r in await conn.fetch("SELECT id FROM orders.orders WHERE status <> 'CREATED' LIMIT 300")]
    finally:
        await conn.close()

    snapshot = await observe.read_snapshot(
        dsn, observe.Sources(log_dir=Path("/nonexistent"), vhost="/"), order_ids=sample
    )
    verdict = invariants.check(snapshot, sample, global_checks=False)

    assert {o.id for o in snapshot.orders} == set(sample)
    assert verdict.violations == [] and verdict.lost == [] and verdict.applied_twice == []
    assert verdict.accepted == verdict.applied == len(sample)
    assert verdict.gateway_compared == len(sample)


async def test_the_bench_checks_of_a_run_leave_the_preloaded_rows_out(
    preloaded: tuple[str, dict[str, Any], preload.Plan],
) -> None:
    dsn, _, _ = preloaded
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        # paid within the outbox's retention: their outbox rows are there to count
        paid = [
            r["id"]
            for r in await pool.fetch(
                """SELECT id FROM orders.orders WHERE status = 'PAID' AND created_at > now() - interval '5 days'
                    LIMIT 50"""
            )
        ]
        assert paid
        # a run's order, made now: nothing settled it, and no preloaded row is counted with it
        run_order = ids.new_id(ids.ORDER)
        await pool.execute(
            "INSERT INTO orders.orders (id, merchant_id, amount, currency) VALUES ($1, $2, 100, 'INR')",
            run_order,
            OWN[0],
        )
        preloaded_traffic = await checks.traffic(pool, paid)
        run_traffic = await checks.traffic(pool, [run_order])
        correctness = await pool.fetchval(
            "SELECT count(*) FROM orders.orders WHERE id = ANY($1::text[]) AND status = 'CREATED'", [run_order]
        )
    finally:
        await pool.close()
    assert preloaded_traffic["webhooks_per_lifecycle"] == 1.0
    assert preloaded_traffic["outbox_messages"] == {"payments": 2 * len(paid), "orders": 3 * len(paid)}
    assert run_traffic["webhook_events"] == 0
    assert run_traffic["outbox_messages"] == {"payments": 0, "orders": 0}
    assert correctness == 1


async def test_a_second_preload_into_the_same_database_adds_nothing(
    preloaded: tuple[str, dict[str, Any], preload.Plan],
) -> None:
    dsn, _, plan = preloaded
    before = await counts(dsn)

    again = await preload.preload(dsn, plan, workers=2, quiet=True)

    assert again["rows"] == before
