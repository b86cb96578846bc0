"""A database that is down or restarting makes a 503 with Retry-After, never a 500."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from payments_common.http import base_app


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "refused"),
        asyncpg.CannotConnectNowError("starting up"),
        asyncpg.exceptions.AdminShutdownError("shutdown"),
    ],
)
async def test_an_unreachable_database_answers_503_with_retry_after(error: Exception) -> None:
    async def down(_: web.Request) -> web.Response:
        raise error

    app = base_app(max_body_bytes=1024)
    app.router.add_get("/down", down)
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/down")
        assert r.status == 503
        assert r.headers["Retry-After"] == "1"
        assert (await r.json())["error"]["code"] == "SERVICE_UNAVAILABLE"


async def test_any_other_error_is_still_a_logged_500() -> None:
    async def broken(_: web.Request) -> web.Response:
        raise KeyError("bug")

    app = base_app(max_body_bytes=1024)
    app.router.add_get("/broken", broken)
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/broken")
        assert r.status == 500
        assert (await r.json())["error"]["code"] == "SERVER_ERROR"
