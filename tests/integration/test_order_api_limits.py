"""order-svc's real app, as bootstrap builds it, on a throwaway database and a throwaway RabbitMQ vhost
(its consumer must not take messages from a system running on this broker): the per-key limit in
front of real orders."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from yarl import URL

from order_svc.app import create_app
from order_svc.settings import Settings
from payments_common.config import DEFAULT_AMQP_URL
from payments_common.db import ensure_database
from payments_tools.migrate_cli import migrate_all

pytestmark = pytest.mark.integration

ADMIN_URL = URL(os.environ.get("TEST_DATABASE_ADMIN_URL") or "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
MERCHANT_A = ("rzp_test_limits_a", "secret-of-merchant-a")
MERCHANT_B = ("rzp_test_limits_b", "secret-of-merchant-b")
BURST = 5


async def rabbitmqctl(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, f"rabbitmqctl {' '.join(args)}: {out.decode(errors='replace')}"


@pytest.fixture
async def vhost_amqp_url() -> AsyncIterator[str]:
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed: no throwaway vhost for order-svc's consumer")
    vhost = f"it_limits_{uuid.uuid4().hex[:12]}"
    user = URL(AMQP_URL).user or "guest"
    await rabbitmqctl("add_vhost", vhost)
    try:
        await rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield str(URL(AMQP_URL).with_path("/" + vhost))
    finally:
        await rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
async def migrated_dsn() -> AsyncIterator[str]:
    name = f"payments_it_limits_{uuid.uuid4().hex[:12]}"
    dsn = str(ADMIN_URL.with_path("/" + name))
    assert await ensure_database(dsn)
    try:
        await migrate_all(dsn)
        yield dsn
    finally:
        conn = await asyncpg.connect(str(ADMIN_URL))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture
async def client(migrated_dsn: str, vhost_amqp_url: str) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings(
        DATABASE_URL=migrated_dsn,
        AMQP_URL=SecretStr(vhost_amqp_url),
        API_KEYS=SecretStr(",".join(f"{key_id}:{secret}" for key_id, secret in (MERCHANT_A, MERCHANT_B))),
        PAYMENT_SIGNING_SECRET=SecretStr("ab" * 32),
        INTERNAL_API_TOKEN=SecretStr("internal-token-0123456789abcdef"),
        API_RATE_BURST=BURST,
        API_RATE_PER_SECOND=0.001,  # no token comes back during the test
        PAYMENT_SVC_URL="http://127.0.0.1:1",
        DB_POOL_SIZE=2,
    )
    async with TestClient(TestServer(await create_app(settings))) as test_client:
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
