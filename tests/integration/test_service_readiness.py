"""Each service's own /readyz, wired in its app.py, tells the truth about its database: 200 while PostgreSQL
answers, 503 naming `database` while it does not, 200 again once it is back, without a restart.

The machine's PostgreSQL is shared and never stopped: each service here runs in-process with its
DATABASE_URL pointed at a small TCP proxy in front of PostgreSQL, and the test cuts the proxy (every
connection through it aborted, the port closed) and restores it. The services with consumers run on a
throwaway RabbitMQ vhost, so they take nobody else's messages.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from payments_common.db import ensure_database
from payments_tools.localenv import generate_secrets
from payments_tools.migrate_cli import migrate_all

from .conftest import DEFAULT_AMQP_URL, _admin_url
from .helpers import eventually

AppFactory = Callable[[str, str], Awaitable[web.Application]]


class TcpProxy:
    """Forwards every connection to `target`; `cut` aborts them all and stops listening, `restore` listens
    on the same port again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._transports.update({writer.transport, upstream_writer.transport})
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._transports.discard(writer.transport)
            writer.transport.abort()

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    async def restore(self) -> None:
        await self.start()


@pytest.fixture
async def database() -> AsyncIterator[URL]:
    """A throwaway database with every schema migrated (directly, not through the proxy)."""
    admin = _admin_url()
    name = f"payments_it_ready_{uuid.uuid4().hex[:12]}"
    dsn = admin.with_path(f"/{name}")
    await ensure_database(str(dsn))
    await migrate_all(str(dsn))
    yield dsn
    conn = await asyncpg.connect(str(admin))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def proxy(database: URL) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(database.host or "127.0.0.1", database.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.cut()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def vhost() -> Any:
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed: no throwaway vhost for the service's consumers")
    name = f"it_ready_{uuid.uuid4().hex[:12]}"
    amqp = URL(DEFAULT_AMQP_URL)
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, amqp.user or "guest", ".*", ".*", ".*")
        yield str(amqp.with_path("/" + name))
    finally:
        _rabbitmqctl("delete_vhost", name)


def _common(database_url: str, amqp_url: str) -> dict[str, Any]:
    return {**generate_secrets(), "DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "WARNING"}


async def order_svc(database_url: str, amqp_url: str) -> web.Application:
    from order_svc.app import create_app
    from order_svc.settings import Settings

    return await create_app(Settings(**_common(database_url, amqp_url)))


async def payment_svc(database_url: str, amqp_url: str) -> web.Application:
    from payment_svc.app import create_app
    from payment_svc.settings import Settings

    return await create_app(Settings(**_common(database_url, amqp_url), MOCK_GATEWAY_URL="http://127.0.0.1:9"))


async def mock_gateway(database_url: str, amqp_url: str) -> web.Application:
    from mock_gateway.app import create_app
    from mock_gateway.settings import Settings

    return await create_app(Settings(**_common(database_url, amqp_url), WEBHOOK_GATEWAY_URL="http://127.0.0.1:9"))


async def console(database_url: str, amqp_url: str) -> web.Application:
    from payments_console.app import create_app
    from payments_console.auth.domain import hash_password
    from payments_console.settings import Settings

    operators = f"admin:{hash_password('a password of some length')}"
    return await create_app(Settings(**_common(database_url, amqp_url), CONSOLE_OPERATORS=operators))


SERVICES: dict[str, tuple[AppFactory, bool]] = {
    "order-svc": (order_svc, True),
    "payment-svc": (payment_svc, True),
    "mock-gateway": (mock_gateway, False),
    "payments-console": (console, False),
}


async def _readyz(client: TestClient) -> tuple[int, dict[str, Any]]:
    r = await client.get("/readyz")
    return r.status, await r.json()


@pytest.mark.parametrize("service", list(SERVICES))
async def test_readyz_names_the_database_while_it_is_cut_off_and_recovers(
    service: str, database: URL, proxy: TcpProxy, request: pytest.FixtureRequest
) -> None:
    factory, needs_broker = SERVICES[service]
    amqp_url = request.getfixturevalue("vhost") if needs_broker else DEFAULT_AMQP_URL
    through_proxy = str(database.with_host("127.0.0.1").with_port(proxy.port))
    app = await factory(through_proxy, amqp_url)
    async with TestClient(TestServer(app)) as client:
        status, body = await _readyz(client)
        assert status == 200, body
        assert "database" in body["checks"]

        await proxy.cut()
        found: dict[str, Any] = {}

        async def unready() -> bool:
            status, body = await _readyz(client)
            found.update(body)
            return status == 503 and "database" in body["failing"]

        await eventually(unready, within=10, what=f"{service} unready while PostgreSQL is cut off")
        assert found["status"] == "unready"
        assert found["checks"]["database"]["ok"] is False
        # liveness says nothing about the database: restarting the process would not help
        assert (await client.get("/healthz")).status == 200

        await proxy.restore()

        async def ready() -> bool:
            status, _ = await _readyz(client)
            return status == 200

        await eventually(ready, within=15, what=f"{service} ready again once PostgreSQL is back")
        r = await client.get("/metrics")
        assert r.status == 200
        assert 'readiness_check{check="database"' in await r.text()
