"""Payment methods where they are stored: the mock gateway settles each method by its test values with
that method's decline, and a card's number and CVV reach no table of payment-svc, the gateway or
order-svc, on the real PostgreSQL (the gateway runs in-process and its webhooks land in a stub)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from mock_gateway.payments.domain import BANK_DECLINED, CARD_DECLINED, INSUFFICIENT_FUNDS, UPI_DECLINED, WALLET_DECLINED
from order_svc.orders.repository import OrderRepository
from order_svc.payments.repository import PaymentViewRepository
from payment_svc.attempts.domain import PaymentStatus
from payment_svc.attempts.service import apply_webhook
from payments_common import ids
from payments_common.events import PaymentSnapshot
from payments_common.methods import summary

from .conftest import migrated_schema
from .helpers import eventually
from .test_mock_gateway_http import (
    StubReceiver,
    create_body,
)
from .test_reconciler import World, running_world

pytestmark = pytest.mark.integration

NUMBER = "4000000000000002"
CVV = "987"
DECLINED_CARD = {
    "type": "card",
    "number": NUMBER,
    "expiryMonth": 12,
    "expiryYear": 2031,
    "cvv": CVV,
    "name": "Asha Rao",
}
CARD_SECRETS = (NUMBER, "4000 0000 0000 0002", f'"{CVV}"', '"cvv"', "Asha Rao")


async def stored_values(conn: asyncpg.Connection, schemas: Sequence[str]) -> list[tuple[str, bytes]]:
    """Every non-null value of every column of every table in `schemas`, as (schema.table.column, bytes):
    bytea as its bytes (`row::text` would show it in hex, hiding what a webhook body holds), the rest as
    PostgreSQL writes it as text."""
    columns = await conn.fetch(
        """SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
            WHERE table_schema = ANY($1::text[]) ORDER BY 1, 2, 3""",
        list(schemas),
    )
    found: list[tuple[str, bytes]] = []
    for schema, table, column, data_type in columns:
        expression = f'"{column}"' if data_type == "bytea" else f'"{column}"::text'
        rows = await conn.fetch(f'SELECT {expression} AS v FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL')
        for row in rows:
            value = row["v"]
            found.append((f"{schema}.{table}.{column}", bytes(value) if data_type == "bytea" else value.encode()))
    return found


def holding(values: list[tuple[str, bytes]], needles: Sequence[str]) -> list[str]:
    """Where any of `needles` is stored, by schema.table.column."""
    return sorted({where for where, value in values if any(needle.encode() in value for needle in needles)})


@dataclass
class Schemas:
    world: World
    gateway: TestClient[Any, Any]
    names: tuple[str, str]  # payment-svc's, the gateway's


@pytest.fixture
async def system(database_dsn: str) -> AsyncIterator[Schemas]:
    async with running_world(database_dsn) as (world, gateway, gateway_schema):
        payment_schema = await world.pool.fetchval("SELECT current_schema()")
        yield Schemas(world, gateway, (payment_schema, gateway_schema))


async def _gateway_record(db: asyncpg.Pool, payment_id: str) -> asyncpg.Record:
    async def settled() -> bool:
        return await db.fetchval("SELECT status FROM payments WHERE payment_id = $1", payment_id) != "created"

    await eventually(settled, within=10, what="the gateway's record settled")
    row = await db.fetchrow(
        "SELECT status, error_code, error_description FROM payments WHERE payment_id = $1", payment_id
    )
    assert row is not None
    return row


async def test_a_card_payment_leaves_only_its_summary_in_every_table(system: Schemas) -> None:
    world = system.world
    payment = await world.pay(DECLINED_CARD)
    expected = {"type": "card", "last4": "0002", "network": "visa", "expiryMonth": 12, "expiryYear": 2031}
    assert payment.method == expected

    await eventually(lambda: len(world.receiver.for_payment(payment.id)) == 1, within=10, what="the webhook")
    [webhook] = world.webhooks_for(payment.id)
    assert webhook.data.method == expected
    assert (webhook.data.status, webhook.data.errorCode) == ("FAILED", CARD_DECLINED.code)
    await apply_webhook(world.deps, webhook.eventId, webhook, None)

    settled = await world.payment(payment.id)
    assert (settled.status, settled.error_code, settled.error_description) == (
        PaymentStatus.FAILED,
        CARD_DECLINED.code,
        CARD_DECLINED.description,
    )
    record = await _gateway_record(world.gateway_db, payment.id)
    assert (record["status"], record["error_code"]) == ("failed", CARD_DECLINED.code)
    # what it was checked in: the payment, its trail, the outbox's events, the gateway's payment and webhook
    assert await world.outbox_types(payment.id) == ["payment.initiated", "payment.failed"]

    async with world.pool.acquire() as conn:
        values = await stored_values(conn, system.names)
    assert {where.split(".", 1)[0] for where, _ in values} == set(system.names)
    assert any(where.endswith(".deliveries.body") for where, _ in values)
    assert holding(values, CARD_SECRETS) == []
    # the search itself finds what is there
    assert holding(values, ['"0002"']) != []


@pytest.mark.parametrize(
    ("method", "status", "decline"),
    [
        ({**DECLINED_CARD, "number": "4111 1111 1111 1111"}, "captured", None),
        (DECLINED_CARD, "failed", CARD_DECLINED),
        ({**DECLINED_CARD, "number": "4000000000009995"}, "failed", INSUFFICIENT_FUNDS),
        ({"type": "upi", "vpa": "failure@razorpay"}, "failed", UPI_DECLINED),
        ({"type": "wallet", "provider": "paytm"}, "captured", None),
        ({"type": "wallet", "provider": "freecharge"}, "failed", WALLET_DECLINED),
        ({"type": "netbanking", "bank": "HDFC"}, "captured", None),
        ({"type": "netbanking", "bank": "YESB"}, "failed", BANK_DECLINED),
    ],
)
async def test_the_gateway_settles_each_method_by_its_test_value_with_its_own_decline(
    system: Schemas, method: dict[str, Any], status: str, decline: Any
) -> None:
    body = create_body(method)
    response = await system.gateway.post("/v1/payments", json=body)
    assert response.status == 201
    created = await response.json()
    assert created["method"] == summary(method)

    receiver: StubReceiver = system.world.receiver
    await eventually(lambda: len(receiver.for_payment(body["paymentId"])) == 1, within=10, what="the webhook")
    [delivered] = receiver.for_payment(body["paymentId"])
    reported = delivered.json()
    assert reported["method"] == summary(method)
    assert (reported.get("errorCode"), reported.get("errorDescription")) == (
        (decline.code, decline.description) if decline else (None, None)
    )

    record = await _gateway_record(system.world.gateway_db, body["paymentId"])
    assert (record["status"], record["error_code"], record["error_description"]) == (
        status,
        decline.code if decline else None,
        decline.description if decline else None,
    )


@pytest.fixture
async def orders(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "payments_common", "order_svc", size=2) as (_, pool):
        yield pool


async def test_order_views_keep_a_summary_whatever_a_snapshot_carries(orders: asyncpg.Pool) -> None:
    order_id = ids.new_id(ids.ORDER)
    now = datetime.now(UTC)
    snapshot = PaymentSnapshot(
        id=ids.new_id(ids.PAYMENT),
        orderId=order_id,
        merchantId="m_1",
        amount=1500,
        currency="INR",
        status="INITIATED",
        # payment-svc sends summaries: a snapshot that somehow carried a whole card is summarised again
        method=DECLINED_CARD,
        version=1,
        createdAt=now,
        updatedAt=now,
    )
    async with orders.acquire() as conn:
        repo = PaymentViewRepository(conn)
        await OrderRepository(conn).insert(order_id, "m_1", 1500, "INR", None, None)
        assert await repo.upsert(snapshot)
        [view] = await repo.of_order(order_id)
        assert view.method == summary(DECLINED_CARD)
        later = snapshot.model_copy(update={"version": 2, "status": "FAILED", "method": summary(DECLINED_CARD)})
        assert await repo.upsert(later)
        [view] = await repo.of_order(order_id)
        assert (view.status, view.method) == ("FAILED", summary(DECLINED_CARD))
        values = await stored_values(conn, [await conn.fetchval("SELECT current_schema()")])
    assert holding(values, CARD_SECRETS) == []
    assert [where.split(".", 1)[1] for where in holding(values, ['"0002"'])] == ["payment_views.method"]
