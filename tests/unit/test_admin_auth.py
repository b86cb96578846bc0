"""payment-svc's admin API lets nobody in without its bearer token, and nobody at all without one set."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from payment_svc.admin import http as admin
from payments_common.http import base_app

TOKEN = "s3cret-admin-token"


async def _client(token: SecretStr | None) -> TestClient[web.Request, web.Application]:
    app = base_app(max_body_bytes=1024)
    admin.add_routes(app, token)

    async def probe(_: web.Request) -> web.Response:
        return web.json_response({"reached": True})

    # a route behind the same prefix, to see whether a request gets past the check
    app.router.add_get("/admin/probe", probe)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_the_right_bearer_token_reaches_the_route() -> None:
    client = await _client(SecretStr(TOKEN))
    try:
        r = await client.get("/admin/probe", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status == 200
        assert await r.json() == {"reached": True}
    finally:
        await client.close()


async def test_missing_wrong_or_non_bearer_credentials_are_refused_without_echoing_them() -> None:
    client = await _client(SecretStr(TOKEN))
    try:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": "Bearer "},
        ):
            r = await client.get("/admin/probe", headers=headers)
            assert r.status == 401, headers
            body = await r.text()
            assert (await r.json())["error"]["code"] == "UNAUTHORIZED"
            assert TOKEN not in body and "wrong" not in body
    finally:
        await client.close()


async def test_without_a_configured_token_the_admin_api_is_closed() -> None:
    for token in (None, SecretStr("")):
        client = await _client(token)
        try:
            r = await client.get("/admin/probe", headers={"Authorization": "Bearer "})
            assert r.status == 403
            r = await client.get("/admin/probe", headers={"Authorization": "Bearer anything"})
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "FORBIDDEN"
        finally:
            await client.close()


async def test_routes_outside_the_admin_prefix_need_no_token() -> None:
    client = await _client(SecretStr(TOKEN))
    try:
        r = await client.get("/health")
        assert r.status == 200
    finally:
        await client.close()
