"""The admin APIs' SQL on seeded rows with known answers: payment analytics (counts, money per currency,
failure reasons, method mix, refunds, initiate → settled percentiles, buckets over time, the merchant
filter and the window's edges), order analytics, the payment search, one payment's detail, and the
resolution of anomalies (a note, or a refund of money captured for a payment kept FAILED)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from order_svc.admin import http as order_admin
from order_svc.admin.repository import order_analytics
from order_svc.deps import DEPS
from order_svc.deps import Deps as OrderDeps
from payment_svc.admin import http as admin_http
from payment_svc.admin.repository import Search, search_payments
from payment_svc.admin.service import resolve_anomaly
from payment_svc.analytics import http as analytics_http
from payment_svc.analytics.repository import payment_analytics
from payment_svc.attempts import http as attempts_http
from payment_svc.attempts.service import Deps
from payments_common.errors import ApiError
from payments_common.http import base_app

from .conftest import migrated_schema

SINCE = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
UNTIL = SINCE + timedelta(hours=2)
TOKEN = "admin-token-for-the-test"

# id, merchant, amount, currency, method, status, error code, minutes after SINCE, seconds to settle
PAYMENTS = [
    ("pay_1", "acme", 1000, "INR", "card", "SUCCESS", None, 5, 2.0),
    ("pay_2", "acme", 2000, "INR", "upi", "SUCCESS", None, 30, 4.0),
    ("pay_3", "beta", 500, "USD", "card", "SUCCESS", None, 70, 10.0),
    ("pay_4", "acme", 1500, "INR", "card", "FAILED", "CARD_DECLINED", 80, 1.0),
    ("pay_5", "beta", 700, "INR", "wallet", "FAILED", "EXPIRED", 100, 6.0),
    ("pay_6", "acme", 100, "INR", "upi", "INITIATED", None, 110, None),
    # outside the window: a minute before it, and exactly at its end (the end is excluded)
    ("pay_7", "acme", 9999, "INR", "card", "SUCCESS", None, -1, 3.0),
    ("pay_8", "acme", 9999, "INR", "card", "SUCCESS", None, 120, 3.0),
]
# id, payment, amount, currency, status, minutes after SINCE
REFUNDS = [
    ("rfnd_1", "pay_1", 500, "INR", "PROCESSED", 40),
    ("rfnd_2", "pay_2", 300, "INR", "PENDING", 60),
    ("rfnd_3", "pay_3", 500, "USD", "FAILED", 90),
    ("rfnd_4", "pay_7", 100, "INR", "PROCESSED", 150),
]


async def seed(conn: asyncpg.Connection) -> None:
    for pid, merchant, amount, currency, method, status, error, minutes, settle in PAYMENTS:
        order_id = f"order_{pid}"
        created = SINCE + timedelta(minutes=minutes)
        await conn.execute(
            "INSERT INTO order_payments (order_id, merchant_id, amount, currency) VALUES ($1, $2, $3, $4)",
            order_id,
            merchant,
            amount,
            currency,
        )
        await conn.execute(
            """INSERT INTO payments (id, order_id, merchant_id, amount, currency, method, status, error_code,
                                     gateway_payment_id, settled_by, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)""",
            pid,
            order_id,
            merchant,
            amount,
            currency,
            {"type": method},
            status,
            error,
            f"gw_{pid}",
            None if settle is None else "webhook",
            created,
        )
        await conn.execute(
            "INSERT INTO payment_events (payment_id, kind, source, created_at) VALUES ($1, 'created', 'api', $2)",
            pid,
            created,
        )
        if settle is not None:
            for seconds in (settle, settle + 100):  # a later `settled` entry (a replay) does not count
                await conn.execute(
                    """INSERT INTO payment_events (payment_id, kind, source, created_at)
                       VALUES ($1, 'settled', 'webhook', $2)""",
                    pid,
                    created + timedelta(seconds=seconds),
                )
    merchants = {p[0]: p[1] for p in PAYMENTS}
    for rid, pid, amount, currency, status, minutes in REFUNDS:
        await conn.execute(
            """INSERT INTO refunds (id, payment_id, order_id, merchant_id, amount, currency, status, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            rid,
            pid,
            f"order_{pid}",
            merchants[pid],
            amount,
            currency,
            status,
            SINCE + timedelta(minutes=minutes),
        )
        if status != "FAILED":
            await conn.execute("UPDATE payments SET amount_refunded = amount_refunded + $2 WHERE id = $1", pid, amount)


@pytest.fixture
async def payments_pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "payments_common", "payment_svc") as (_, pool):
        async with pool.acquire() as conn:
            await seed(conn)
        yield pool


async def test_payment_analytics_of_the_whole_window(payments_pool: asyncpg.Pool) -> None:
    async with payments_pool.acquire() as conn:
        result = await payment_analytics(conn, SINCE, UNTIL, None, "hour")
    assert result["attempts"] == {"attempted": 6, "succeeded": 3, "failed": 2, "pending": 1}
    assert result["successRate"] == 0.5
    assert result["paid"] == [
        {"currency": "INR", "count": 2, "amount": 3000},
        {"currency": "USD", "count": 1, "amount": 500},
    ]
    assert result["failureReasons"] == [{"code": "CARD_DECLINED", "count": 1}, {"code": "EXPIRED", "count": 1}]
    assert result["methods"] == [
        {"method": "card", "attempted": 3, "succeeded": 2},
        {"method": "upi", "attempted": 2, "succeeded": 1},
        {"method": "wallet", "attempted": 1, "succeeded": 0},
    ]
    refunds = result["refunds"]
    assert {k: refunds[k] for k in ("count", "pending", "processed", "failed")} == {
        "count": 3,
        "pending": 1,
        "processed": 1,
        "failed": 1,
    }
    assert refunds["amounts"] == [
        {"currency": "INR", "amount": 800, "pendingAmount": 300},
        {"currency": "USD", "amount": 0, "pendingAmount": 0},
    ]
    # settled after 1, 2, 4, 6 and 10 seconds: the median is 4; p95 interpolates 6 + 0.8 * (10 - 6)
    settle = result["settleSeconds"]
    assert settle["count"] == 5
    assert settle["p50"] == pytest.approx(4.0)
    assert settle["p95"] == pytest.approx(9.2)
    assert [(b["at"], b["attempted"], b["succeeded"], b["failed"]) for b in result["series"]] == [
        (SINCE, 2, 2, 0),
        (SINCE + timedelta(hours=1), 4, 1, 2),
    ]


async def test_payment_analytics_of_one_merchant_by_the_minute(payments_pool: asyncpg.Pool) -> None:
    async with payments_pool.acquire() as conn:
        result = await payment_analytics(conn, SINCE, UNTIL, "acme", "minute")
        nobody = await payment_analytics(conn, SINCE, UNTIL, "nobody", "hour")
    assert result["attempts"] == {"attempted": 4, "succeeded": 2, "failed": 1, "pending": 1}
    assert result["paid"] == [{"currency": "INR", "count": 2, "amount": 3000}]
    assert result["refunds"]["count"] == 2
    assert result["settleSeconds"]["count"] == 3
    # every minute of the window, the empty ones too
    assert len(result["series"]) == 120
    assert sum(b["attempted"] for b in result["series"]) == 4
    assert [b["attempted"] for b in result["series"] if b["at"] == SINCE + timedelta(minutes=80)] == [1]
    assert nobody["attempts"]["attempted"] == 0
    assert nobody["successRate"] is None
    assert nobody["settleSeconds"] == {"count": 0, "p50": None, "p95": None}
    assert [b["attempted"] for b in nobody["series"]] == [0, 0]


async def test_order_analytics(database_dsn: str) -> None:
    async with migrated_schema(database_dsn, "payments_common", "order_svc") as (_, pool), pool.acquire() as conn:
        rows = [("o1", "acme", "PAID", 1), ("o2", "acme", "FAILED", 2), ("o3", "beta", "PAID", 61)]
        rows += [("o4", "acme", "CREATED", 62), ("o5", "acme", "PAID", 130)]
        for order_id, merchant, status, minutes in rows:
            await conn.execute(
                """INSERT INTO orders (id, merchant_id, amount, currency, status, created_at)
                       VALUES ($1, $2, 100, 'INR', $3, $4)""",
                order_id,
                merchant,
                status,
                SINCE + timedelta(minutes=minutes),
            )
        everyone = await order_analytics(conn, SINCE, UNTIL, None, "hour")
        acme = await order_analytics(conn, SINCE, UNTIL, "acme", "hour")
    assert (everyone["orders"], everyone["paid"], everyone["conversion"]) == (4, 2, 0.5)
    assert [(b["at"], b["orders"], b["paid"]) for b in everyone["series"]] == [
        (SINCE, 2, 1),
        (SINCE + timedelta(hours=1), 2, 1),
    ]
    assert (acme["orders"], acme["paid"]) == (3, 1)
    assert acme["conversion"] == pytest.approx(1 / 3)


async def test_the_search_finds_a_payment_by_any_of_its_ids(payments_pool: asyncpg.Pool) -> None:
    async with payments_pool.acquire() as conn:

        async def ids(**wanted: Any) -> list[str]:
            return [row["id"] for row in await search_payments(conn, Search(**wanted))]

        for ident in ("pay_2", "order_pay_2", "gw_pay_2", "rfnd_2"):
            assert await ids(ident=ident) == ["pay_2"]
        assert await ids(ident="nothing") == []
        assert await ids(merchant="beta") == ["pay_5", "pay_3"]
        assert await ids(status="FAILED") == ["pay_5", "pay_4"]
        assert await ids(method="upi", merchant="acme") == ["pay_6", "pay_2"]
        assert await ids(since=SINCE + timedelta(minutes=100), until=UNTIL) == ["pay_6", "pay_5"]
        assert len(await ids(limit=3)) == 3


@pytest.fixture
async def admin_client(payments_pool: asyncpg.Pool) -> AsyncIterator[TestClient]:
    app = base_app(max_body_bytes=64 * 1024)
    admin_http.add_routes(app, SecretStr(TOKEN))
    analytics_http.add_routes(app)
    app[admin_http.POOL] = payments_pool
    app[attempts_http.DEPS] = Deps(pool=payments_pool, gateway=None, signing_secret=b"k")  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        yield client


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


async def test_the_admin_routes_answer_the_consoles_shapes(admin_client: TestClient) -> None:
    assert (await admin_client.get("/admin/analytics")).status == 401
    window = {"from": SINCE.isoformat(), "to": UNTIL.isoformat(), "bucket": "hour", "merchant": "beta"}
    r = await admin_client.get("/admin/analytics", params=window, headers=_auth())
    body = await r.json()
    assert r.status == 200, body
    assert body["from"] == "2025-01-01T10:00:00.000Z" and body["merchant"] == "beta"
    assert body["attempts"] == {"attempted": 2, "succeeded": 1, "failed": 1, "pending": 0}
    bad = await admin_client.get("/admin/analytics", params={**window, "bucket": "week"}, headers=_auth())
    assert bad.status == 400

    r = await admin_client.get("/admin/payments", params={"id": "rfnd_1"}, headers=_auth())
    [row] = (await r.json())["payments"]
    assert (row["id"], row["method"], row["amountRefunded"]) == ("pay_1", "card", 500)

    r = await admin_client.get("/admin/payments/pay_1", headers=_auth())
    detail = await r.json()
    assert r.status == 200, detail
    assert [a["id"] for a in detail["attempts"]] == ["pay_1"]
    assert [(x["id"], x["status"]) for x in detail["refunds"]] == [("rfnd_1", "PROCESSED")]
    assert [e["kind"] for e in detail["events"]] == ["created", "settled", "settled"]
    assert (await admin_client.get("/admin/payments/pay_none", headers=_auth())).status == 404


async def _anomaly(pool: asyncpg.Pool, payment_id: str, kind: str) -> int:
    async with pool.acquire() as conn:
        anomaly_id: int = await conn.fetchval(
            """INSERT INTO anomalies (payment_id, order_id, kind, source, event_id)
               VALUES ($1, $2, $3, 'webhook', $4) RETURNING id""",
            payment_id,
            f"order_{payment_id}",
            kind,
            f"evt_{kind}",
        )
    return anomaly_id


async def test_an_anomaly_is_resolved_with_a_note_or_by_refunding_the_captured_money(
    payments_pool: asyncpg.Pool, admin_client: TestClient
) -> None:
    deps = Deps(pool=payments_pool, gateway=None, signing_secret=b"k")  # type: ignore[arg-type]
    captured = await _anomaly(payments_pool, "pay_4", "SUCCESS_AFTER_FAILED")
    contradicted = await _anomaly(payments_pool, "pay_1", "FAILED_AFTER_SUCCESS")

    # a FAILED_AFTER_SUCCESS took no money: there is nothing to refund, only to note
    with pytest.raises(ApiError) as refused:
        await resolve_anomaly(deps, contradicted, "alice", "refund", "no")
    assert refused.value.status == 409

    body = {"operator": "alice", "action": "refund", "note": "captured at the gateway; giving it back"}
    r = await admin_client.post(f"/admin/anomalies/{captured}/resolve", json=body, headers=_auth())
    answer = await r.json()
    assert r.status == 200, answer
    refund_id = answer["refundId"]
    assert answer["anomaly"]["resolvedBy"] == "alice"
    assert answer["anomaly"]["resolution"] == "refunded"
    assert answer["anomaly"]["refundId"] == refund_id
    async with payments_pool.acquire() as conn:
        refund = await conn.fetchrow("SELECT payment_id, amount, status FROM refunds WHERE id = $1", refund_id)
        outbox = await conn.fetchval("SELECT count(*) FROM outbox WHERE payload::text LIKE '%' || $1 || '%'", refund_id)
        resolved_at = await conn.fetchval("SELECT resolved_at FROM anomalies WHERE id = $1", captured)
    assert dict(refund) == {"payment_id": "pay_4", "amount": 1500, "status": "PENDING"}
    assert outbox == 2  # the request the gateway is sent, and the snapshot for order-svc
    assert resolved_at is not None

    again = await admin_client.post(f"/admin/anomalies/{captured}/resolve", json=body, headers=_auth())
    assert again.status == 409

    resolved = await resolve_anomaly(deps, contradicted, "bob", "resolve", "the customer was told")
    assert (resolved.anomaly.resolution, resolved.anomaly.resolved_by, resolved.refund_id) == ("resolved", "bob", None)
    assert resolved.anomaly.resolution_note == "the customer was told"
    missing = await admin_client.post("/admin/anomalies/999999/resolve", json=body, headers=_auth())
    assert missing.status == 404


@pytest.mark.parametrize("token", [None, SecretStr(TOKEN)])
async def test_order_svcs_admin_api_is_behind_the_admin_token(database_dsn: str, token: SecretStr | None) -> None:
    async with migrated_schema(database_dsn, "payments_common", "order_svc") as (_, pool):
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO orders (id, merchant_id, amount, currency, receipt) VALUES ($1, 'acme', 100, 'INR', 'r1')",
                "o1",
            )
        app = base_app(max_body_bytes=64 * 1024)
        order_admin.add_routes(app, token)
        app[DEPS] = OrderDeps(pool=pool, payments=None)  # type: ignore[arg-type]
        async with TestClient(TestServer(app)) as client:
            r = await client.get("/admin/orders/o1", headers=_auth())
            if token is None:
                assert r.status == 403  # no ADMIN_TOKEN configured: the admin API is closed
                return
            assert r.status == 200
            assert {k: (await r.json())[k] for k in ("id", "merchantId", "status", "receipt")} == {
                "id": "o1",
                "merchantId": "acme",
                "status": "CREATED",
                "receipt": "r1",
            }
            wrong = await client.get("/admin/orders/o1", headers={"Authorization": "Bearer wrong"})
            assert wrong.status == 401
            assert (await client.get("/admin/orders/o2", headers=_auth())).status == 404
            r = await client.get("/admin/analytics/orders", params={"bucket": "minute"}, headers=_auth())
            body = await r.json()
            assert (body["orders"], body["paid"], body["bucket"]) == (1, 0, "minute")
            # the default window is the last day: every minute it touches, the first and last partly
            assert len(body["series"]) in (1440, 1441)
