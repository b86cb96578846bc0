"""Merchants and API keys on the real PostgreSQL: API_KEYS seeded once (digests only, a changed secret
replacing its digest), the admin API's answers and errors, a key revoked through one app instance refused by
another once its cache entry is older than the TTL (a clock the test moves), a new key of the same merchant
seeing what the first made, and an Idempotency-Key replayed across the merchant's keys."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from order_svc.access import http as access_http
from order_svc.access.keyring import KeyRing
from order_svc.deps import DEPS, Deps
from order_svc.idempotency import http as idempotency
from order_svc.idempotency.domain import fingerprint_keys
from order_svc.merchants import http as merchants_http
from order_svc.merchants import service
from order_svc.merchants.repository import stored_key
from order_svc.orders import http as orders_http
from payments_common.admin import admin_middleware
from payments_common.config import parse_api_keys
from payments_common.http import base_app
from payments_common.openapi import add_routes

from .conftest import migrated_schema

pytestmark = pytest.mark.integration

ADMIN = {"Authorization": "Bearer admin-token-0123456789abcdef"}
Client = TestClient[Any, Any]


def basic(key_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()}


@pytest.fixture
async def pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "payments_common", "order_svc") as (_, pool):
        yield pool


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def instance(pool: asyncpg.Pool, clock: Clock) -> Client:
    """One order-svc instance's HTTP layer as create_app wires it: its own key cache, the admin API, the
    idempotency middleware and the orders' routes, on the shared database."""
    app = base_app(max_body_bytes=4096)
    app.middlewares.append(access_http.auth_middleware)
    app[access_http.KEYS] = KeyRing(lambda key_id: stored_key(pool, key_id), ttl_seconds=2.0, clock=clock)
    idempotency.install(
        app, timedelta(hours=1), pool_of=lambda _: pool, fingerprint_key=fingerprint_keys(b"server-secret-1")
    )
    app.middlewares.append(admin_middleware(SecretStr(ADMIN["Authorization"].removeprefix("Bearer "))))
    app[DEPS] = Deps(pool=pool, payments=None)  # type: ignore[arg-type]
    merchants_http.add_routes(app)
    add_routes(app, orders_http.ROUTES)
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def two_instances(pool: asyncpg.Pool) -> AsyncIterator[tuple[Client, Client, Clock]]:
    clock = Clock()
    first, second = await instance(pool, clock), await instance(pool, clock)
    yield first, second, clock
    await first.close()
    await second.close()


async def test_seeding_is_idempotent_keeps_the_legacy_id_stores_only_a_digest_and_follows_a_new_secret(
    pool: asyncpg.Pool,
) -> None:
    keys = parse_api_keys("rzp_test_seeded1:first-secret-0123456789,rzp_test_seeded2:other-secret-0123456789")
    assert await service.seed(pool, keys) == 2
    assert await service.seed(pool, keys) == 0
    rows = await pool.fetch("SELECT key_id, merchant_id, secret_hash FROM api_keys ORDER BY key_id")
    assert [(row["key_id"], row["merchant_id"]) for row in rows] == [
        ("rzp_test_seeded1", "rzp_test_seeded1"),
        ("rzp_test_seeded2", "rzp_test_seeded2"),
    ]
    stored = bytes(rows[0]["secret_hash"])
    assert stored == hashlib.sha256(b"first-secret-0123456789").digest()
    dump = str([dict(row) for row in await pool.fetch("SELECT * FROM api_keys")])
    assert "first-secret" not in dump and "other-secret" not in dump
    # the secret changed in API_KEYS: its digest follows, the merchant stays
    assert await service.seed(pool, parse_api_keys("rzp_test_seeded1:changed-secret-0123456789")) == 1
    changed = await stored_key(pool, "rzp_test_seeded1")
    assert changed is not None and changed.secret_hash == hashlib.sha256(b"changed-secret-0123456789").digest()
    assert await pool.fetchval("SELECT count(*) FROM merchants") == 2


async def test_the_admin_api_creates_lists_and_revokes_with_clear_errors(
    two_instances: tuple[Client, Client, Clock],
) -> None:
    client, _, _ = two_instances
    assert (await client.post("/admin/merchants", json={"name": "Acme"})).status == 401
    bad = await client.post("/admin/merchants", json={"name": "", "alertEmail": "not-an-address"}, headers=ADMIN)
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "BAD_REQUEST_ERROR"
    created = await client.post(
        "/admin/merchants", json={"name": "Acme", "alertEmail": "ops@acme.example"}, headers=ADMIN
    )
    assert created.status == 201
    merchant = await created.json()
    assert merchant["id"].startswith("merch_") and len(merchant["id"]) == 20
    assert merchant["alertEmail"] == "ops@acme.example"
    listed = await (await client.get("/admin/merchants", headers=ADMIN)).json()
    assert merchant in listed["items"]
    assert await (await client.get(f"/admin/merchants/{merchant['id']}", headers=ADMIN)).json() == merchant
    missing = await client.get("/admin/merchants/merch_00000000000000", headers=ADMIN)
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "NOT_FOUND"
    assert (await client.post("/admin/merchants/merch_00000000000000/keys", headers=ADMIN)).status == 404

    made = await client.post(f"/admin/merchants/{merchant['id']}/keys", headers=ADMIN)
    assert made.status == 201 and made.headers["Cache-Control"] == "no-store"
    key = await made.json()
    assert key["keyId"].startswith("rzp_test_") and len(key["keySecret"]) == 43 and key["revokedAt"] is None
    keys = await (await client.get(f"/admin/merchants/{merchant['id']}/keys", headers=ADMIN)).json()
    assert [listed_key["keyId"] for listed_key in keys["items"]] == [key["keyId"]]
    assert "keySecret" not in keys["items"][0] and key["keySecret"] not in str(keys)

    revoked = await client.post(f"/admin/keys/{key['keyId']}/revoke", headers=ADMIN)
    assert revoked.status == 200 and (await revoked.json())["revokedAt"] is not None
    again = await client.post(f"/admin/keys/{key['keyId']}/revoke", headers=ADMIN)
    assert again.status == 409 and (await again.json())["error"]["code"] == "KEY_ALREADY_REVOKED"
    assert (await client.post("/admin/keys/rzp_test_00000000000000/revoke", headers=ADMIN)).status == 404


async def _merchant_with_key(client: Client) -> tuple[str, dict[str, Any]]:
    merchant = await (await client.post("/admin/merchants", json={"name": "Rotating"}, headers=ADMIN)).json()
    key = await (await client.post(f"/admin/merchants/{merchant['id']}/keys", headers=ADMIN)).json()
    return merchant["id"], key


async def test_a_key_revoked_on_one_instance_is_refused_by_another_once_its_cache_entry_is_older_than_the_ttl(
    two_instances: tuple[Client, Client, Clock],
) -> None:
    first, second, clock = two_instances
    merchant_id, key1 = await _merchant_with_key(first)
    auth1 = basic(key1["keyId"], key1["keySecret"])
    order = await second.post("/orders", json={"amount": 500, "currency": "INR"}, headers=auth1)
    assert order.status == 201  # the second instance caches key 1 as live
    order_id = (await order.json())["orderId"]

    key2 = await (await first.post(f"/admin/merchants/{merchant_id}/keys", headers=ADMIN)).json()
    auth2 = basic(key2["keyId"], key2["keySecret"])
    # a new key works at once on an instance that never saw it, and reads what key 1 made
    seen = await second.get(f"/orders/{order_id}", headers=auth2)
    assert seen.status == 200 and (await seen.json())["id"] == order_id

    assert (await first.post(f"/admin/keys/{key1['keyId']}/revoke", headers=ADMIN)).status == 200
    assert (await first.get(f"/orders/{order_id}", headers=auth1)).status == 401  # read afresh: refused
    # the second instance's entry is younger than the TTL: still the row it read
    assert (await second.get(f"/orders/{order_id}", headers=auth1)).status == 200
    clock.now += 2.0
    assert (await second.get(f"/orders/{order_id}", headers=auth1)).status == 401
    assert (await second.get(f"/orders/{order_id}", headers=auth2)).status == 200
    # a wrong secret and an unknown key id get the same answer
    assert (await second.get(f"/orders/{order_id}", headers=basic(key2["keyId"], "wrong"))).status == 401
    assert (await second.get(f"/orders/{order_id}", headers=basic("rzp_test_unknown", "x"))).status == 401


async def test_an_idempotency_key_replays_across_the_merchant_s_keys_and_refuses_another_body(
    two_instances: tuple[Client, Client, Clock], pool: asyncpg.Pool
) -> None:
    client, _, _ = two_instances
    merchant_id, key1 = await _merchant_with_key(client)
    key2 = await (await client.post(f"/admin/merchants/{merchant_id}/keys", headers=ADMIN)).json()
    body = {"amount": 700, "currency": "INR", "receipt": "rcpt-1"}
    headers = {"Idempotency-Key": "order-once"}
    first = await client.post("/orders", json=body, headers={**headers, **basic(key1["keyId"], key1["keySecret"])})
    assert first.status == 201
    replay = await client.post("/orders", json=body, headers={**headers, **basic(key2["keyId"], key2["keySecret"])})
    assert replay.status == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert await replay.json() == await first.json()
    other = await client.post(
        "/orders", json={**body, "amount": 701}, headers={**headers, **basic(key2["keyId"], key2["keySecret"])}
    )
    assert other.status == 422 and (await other.json())["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await pool.fetchval("SELECT count(*) FROM orders WHERE merchant_id = $1", merchant_id) == 1
