"""The console's sessions against the real PostgreSQL (its `console` migrations in a fresh schema), through
its HTTP surface with a fake of the admin APIs: signing in and out, the cookie, expiry and idle expiry, CSRF
on every state-changing request, the failed-login throttle, and the audit log; a webhook delivery searched
for, and redelivered only with the session's token and recorded with the operator's name."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from payments_console.app import create_app
from payments_console.auth.domain import hash_password
from payments_console.settings import Settings

from .conftest import migrated_schema

# the admin APIs' fake the console's unit tests use (tests/unit is not a package)
sys.path.insert(0, str(Path(__file__).parent.parent / "unit"))
from console_fake import FakeAdminApi

PASSWORD = "a long enough password"
HASH = hash_password(PASSWORD)


def settings(dsn: str, **extra: Any) -> Settings:
    return Settings.model_validate(
        {"DATABASE_URL": dsn, "CONSOLE_OPERATORS": f"alice:{HASH}", "ADMIN_TOKEN": "admin-token-0123456789abcdef",
         "CONSOLE_COOKIE_SECURE": False, "CONSOLE_LOGIN_BURST": 3, **extra}
    )  # fmt: skip


class Console:
    def __init__(self, client: TestClient[Any, Any], pool: asyncpg.Pool, api: FakeAdminApi) -> None:
        self.client, self.pool, self.api = client, pool, api

    async def login_token(self) -> str:
        page = await (await self.client.get("/login")).text()
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        assert match
        return match[1]

    async def login(self, password: str = PASSWORD, name: str = "alice", next_: str = "/") -> Any:
        token = await self.login_token()
        form = {"csrf": token, "name": name, "password": password, "next": next_}
        return await self.client.post("/login", data=form, allow_redirects=False)

    async def csrf(self) -> str:
        page = await (await self.client.get("/dead-letters")).text()
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        assert match
        return match[1]


@pytest.fixture
async def console(database_dsn: str) -> AsyncIterator[Console]:
    async with migrated_schema(database_dsn, "payments_console") as (schema, pool):
        api = FakeAdminApi()
        app = await create_app(settings(database_dsn), admin_api=api, schema=schema)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        try:
            yield Console(client, pool, api)
        finally:
            await client.close()


async def test_a_right_password_opens_a_session_kept_only_as_a_digest(console: Console) -> None:
    response = await console.login(next_="/payments?recent=1")
    assert response.status == 303
    assert response.headers["Location"] == "/payments?recent=1"
    cookie = response.headers.getall("Set-Cookie")
    session_cookie = next(c for c in cookie if c.startswith("console_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie and "Path=/" in session_cookie
    token = session_cookie.split(";")[0].split("=", 1)[1]
    rows = await console.pool.fetch("SELECT id, operator FROM sessions")
    assert [(r["id"], r["operator"]) for r in rows] == [(hashlib.sha256(token.encode()).hexdigest(), "alice")]
    page = await console.client.get("/payments?recent=1")
    assert page.status == 200 and "alice" in await page.text()


async def test_a_wrong_password_or_name_is_refused_alike(console: Console) -> None:
    for name, password in (("alice", "not the password"), ("mallory", PASSWORD)):
        response = await console.login(password, name=name)
        assert response.status == 401
        assert "Wrong name or password" in await response.text()
    assert await console.pool.fetchval("SELECT count(*) FROM sessions") == 0
    assert (await console.client.get("/", allow_redirects=False)).status == 303


async def test_a_login_without_its_form_token_is_refused(console: Console) -> None:
    form = {"name": "alice", "password": PASSWORD}
    response = await console.client.post("/login", data=form, allow_redirects=False)
    assert response.status == 403
    assert await console.pool.fetchval("SELECT count(*) FROM sessions") == 0


@pytest.mark.parametrize("path", ["/", "/payments", "/payments/pay_1", "/dead-letters", "/anomalies", "/system"])
async def test_pages_send_a_signed_out_browser_to_the_login(console: Console, path: str) -> None:
    response = await console.client.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login")
    polled = await console.client.get(path, headers={"X-Console-Poll": "1"}, allow_redirects=False)
    assert polled.status == 401


async def test_a_post_without_the_sessions_csrf_token_is_refused(console: Console) -> None:
    await console.login()
    for data in ({"id": "msg_1"}, {"id": "msg_1", "csrf": "forged"}):
        response = await console.client.post("/dead-letters/requeue", data=data)
        assert response.status == 403
    assert (await console.client.post("/logout", allow_redirects=False)).status == 403
    assert [letter.id for letter in console.api.letters] == ["msg_1", "msg_2", "msg_3"]
    token = await console.csrf()
    response = await console.client.post("/dead-letters/requeue", data={"id": "msg_1", "csrf": token})
    assert response.status == 200
    assert [letter.id for letter in console.api.letters] == ["msg_2", "msg_3"]
    header = await console.client.post("/dead-letters/requeue", data={"id": "msg_2"}, headers={"X-CSRF-Token": token})
    assert header.status == 200
    actions = await console.pool.fetch("SELECT operator, action FROM audit_log ORDER BY id")
    assert [(a["operator"], a["action"]) for a in actions] == [("alice", "dlq.requeue")] * 2


async def test_a_signed_out_post_is_refused(console: Console) -> None:
    response = await console.client.post("/dead-letters/requeue", data={"id": "msg_1", "csrf": "x"})
    assert response.status == 403
    assert len(console.api.letters) == 3


async def test_logout_ends_the_session_on_the_server(console: Console) -> None:
    await console.login()
    token = await console.csrf()
    response = await console.client.post("/logout", data={"csrf": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert await console.pool.fetchval("SELECT count(*) FROM sessions") == 0
    assert (await console.client.get("/", allow_redirects=False)).status == 303


async def test_a_session_ends_at_its_expiry_and_when_idle(console: Console) -> None:
    await console.login()
    assert (await console.client.get("/system", allow_redirects=False)).status == 200
    await console.pool.execute("UPDATE sessions SET last_seen_at = now() - interval '31 minutes'")
    assert (await console.client.get("/system", allow_redirects=False)).status == 303
    await console.login()
    await console.pool.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    assert (await console.client.get("/system", allow_redirects=False)).status == 303


async def test_a_pages_own_refresh_does_not_keep_a_session_alive(console: Console) -> None:
    await console.login()
    await console.pool.execute("UPDATE sessions SET last_seen_at = now() - interval '10 minutes'")
    before = await console.pool.fetchval("SELECT last_seen_at FROM sessions")
    polled = await console.client.get("/system", headers={"X-Console-Poll": "1"})
    assert polled.status == 200 and "<html" not in await polled.text()
    assert await console.pool.fetchval("SELECT last_seen_at FROM sessions") == before
    await console.client.get("/system")
    assert await console.pool.fetchval("SELECT last_seen_at FROM sessions") > before


async def test_failed_logins_are_throttled_per_name_and_address_then_let_through(console: Console) -> None:
    for _ in range(3):
        assert (await console.login("wrong password")).status == 401
    throttled = await console.login()
    assert throttled.status == 429 and int(throttled.headers["Retry-After"]) >= 1
    # another name from this address is not held back by alice's bucket
    assert (await console.login("whatever", name="bob")).status == 401
    # once the bucket has refilled a little, the right password gets in (and empties nothing for good)
    await console.pool.execute("UPDATE login_throttle SET updated_at = updated_at - interval '31 seconds'")
    assert (await console.login()).status == 303
    assert await console.pool.fetchval("SELECT count(*) FROM login_throttle WHERE name = 'alice'") == 0


async def test_actions_reach_the_admin_api_with_the_operators_name(console: Console) -> None:
    await console.login()
    token = await console.csrf()
    response = await console.client.post(
        "/anomalies/7/resolve", data={"csrf": token, "action": "resolve", "note": "gateway confirms"},
        allow_redirects=False,
    )  # fmt: skip
    assert response.status == 303
    assert ("resolve_anomaly", (7, "alice", "resolve", "gateway confirms")) in console.api.calls
    purge = await console.client.post("/dead-letters/purge", data={"csrf": token, "queue": "payment-svc.webhooks"})
    assert purge.status == 200 and "Purge 3 dead letters?" in await purge.text()
    assert len(console.api.letters) == 3
    data = {"csrf": token, "queue": "payment-svc.webhooks", "confirm": "purge"}
    assert (await console.client.post("/dead-letters/purge", data=data)).status == 200
    assert console.api.letters == []


async def test_every_answer_carries_the_security_headers(console: Console) -> None:
    response = await console.client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


async def test_over_https_the_cookie_is_secure_and_host_only(database_dsn: str) -> None:
    async with migrated_schema(database_dsn, "payments_console") as (schema, _):
        app = await create_app(
            settings(database_dsn, CONSOLE_COOKIE_SECURE=True), admin_api=FakeAdminApi(), schema=schema
        )
        async with TestClient(TestServer(app)) as client:
            page = await client.get("/login")
            assert "Secure" in page.headers["Set-Cookie"]
            token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
            assert token
            response = await client.post(
                "/login", data={"csrf": token[1], "name": "alice", "password": PASSWORD},
                cookies={"console_login": token[1]}, allow_redirects=False,
            )  # fmt: skip
            assert response.status == 303
            session = next(c for c in response.headers.getall("Set-Cookie") if c.startswith("__Host-console_session="))
            assert "Secure" in session and "HttpOnly" in session and "SameSite=Strict" in session


async def test_the_list_asks_merchant_webhooks_with_the_pages_filters(console: Console) -> None:
    await console.login()
    response = await console.client.get("/webhooks", params={"status": "failed", "merchant": "acme", "x": "y"})
    text = await response.text()
    assert response.status == 200
    assert ("webhook_deliveries", {"status": "failed", "merchant": "acme", "limit": "100"}) in console.api.calls
    assert re.findall(r'data-delivery-id="([^"]+)"', text) == ["whdl_1"]
    assert 'aria-current="page"' in text[text.index('href="/webhooks"') - 5 : text.index('href="/webhooks"') + 40]
    refused = await console.client.get("/webhooks", params={"status": "lost"})
    assert refused.status == 400 and "status is one of pending, delivered, failed" in await refused.text()


async def test_a_redelivery_needs_the_csrf_token_and_is_recorded_with_the_operator(console: Console) -> None:
    await console.login()
    for data in ({}, {"csrf": "forged"}):
        refused = await console.client.post("/webhooks/whdl_1/redeliver", data=data, allow_redirects=False)
        assert refused.status == 403
    assert ("redeliver_webhook", "whdl_1") not in console.api.calls
    assert await console.pool.fetchval("SELECT count(*) FROM audit_log") == 0

    token = await console.csrf()
    response = await console.client.post("/webhooks/whdl_1/redeliver", data={"csrf": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/webhooks/whdl_1?redelivered=1"
    assert console.api.calls.count(("redeliver_webhook", "whdl_1")) == 1
    page = await (await console.client.get(response.headers["Location"])).text()
    assert "Redelivery requested" in page and 'data-figure="status">pending<' in page
    [action] = await console.pool.fetch("SELECT operator, action, target, outcome FROM audit_log")
    assert (action["operator"], action["action"], action["target"]) == ("alice", "webhook.redeliver", "delivery whdl_1")
    assert action["outcome"] == "payment.captured evt_whdl_1 to whep_1: pending"
    system = await (await console.client.get("/system")).text()
    assert "webhook.redeliver" in system and "delivery whdl_1" in system


async def test_an_unknown_delivery_is_not_found_and_not_recorded(console: Console) -> None:
    await console.login()
    assert (await console.client.get("/webhooks/whdl_404")).status == 404
    token = await console.csrf()
    response = await console.client.post("/webhooks/whdl_404/redeliver", data={"csrf": token})
    assert response.status == 404 and "merchant-webhooks has no delivery whdl_404" in await response.text()
    assert await console.pool.fetchval("SELECT count(*) FROM audit_log") == 0


async def test_a_signed_out_browser_is_sent_to_the_login(console: Console) -> None:
    for path in ("/webhooks", "/webhooks/whdl_1"):
        response = await console.client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/login")
    refused = await console.client.post("/webhooks/whdl_1/redeliver", data={"csrf": "x"}, allow_redirects=False)
    assert refused.status == 403
    assert console.api.calls == []
