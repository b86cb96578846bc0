"""order-svc's real app, as bootstrap builds it, on a throwaway database and a throwaway RabbitMQ vhost
(its consumer must not take messages from a system running on this broker): the per-key limit in
front of real orders."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from .order_app import order_svc_client

pytestmark = pytest.mark.integration

MERCHANT_A = ("rzp_test_limits_a", "secret-of-merchant-a")
MERCHANT_B = ("rzp_test_limits_b", "secret-of-merchant-b")
BURST = 5


@pytest.fixture
async def client(migrated_dsn: str, vhost_amqp_url: str) -> AsyncIterator[TestClient[Any, Any]]:
    async with order_svc_client(
        migrated_dsn,
        vhost_amqp_url,
        (MERCHANT_A, MERCHANT_B),
        API_RATE_BURST=BURST,
        API_RATE_PER_SECOND=0.001,  # no token comes back during the test
        DB_POOL_SIZE=2,
    ) as test_client:
        yield test_client


def auth(merchant: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(":".join(merchant).encode()).decode()}


async def create_order(client: TestClient[Any, Any], merchant: tuple[str, str]) -> tuple[int, Any, Any]:
    response = await client.post("/orders", json={"amount": 1500, "currency": "INR"}, headers=auth(merchant))
    return response.status, await response.json(), response.headers


async def test_a_key_past_its_burst_gets_429_and_creates_nothing(
    client: TestClient[Any, Any], migrated_dsn: str
) -> None:
    for _ in range(BURST):
        status, answer, _ = await create_order(client, MERCHANT_A)
        assert status == 201, answer

    status, answer, headers = await create_order(client, MERCHANT_A)
    assert status == 429
    assert answer["error"]["code"] == "RATE_LIMITED"
    assert int(headers["Retry-After"]) >= 1
    # reads are requests of the key as well
    assert (await client.get("/orders/order_unknown", headers=auth(MERCHANT_A))).status == 429

    # another merchant's budget is its own
    assert (await create_order(client, MERCHANT_B))[0] == 201

    conn = await asyncpg.connect(migrated_dsn)
    try:
        rows = await conn.fetch("SELECT merchant_id, count(*) AS n FROM orders.orders GROUP BY merchant_id")
    finally:
        await conn.close()
    assert {row["merchant_id"]: row["n"] for row in rows} == {MERCHANT_A[0]: BURST, MERCHANT_B[0]: 1}
