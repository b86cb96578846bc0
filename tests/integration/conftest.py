"""Fixtures for the integration tier: the real PostgreSQL and RabbitMQ of this machine.

- one throwaway database per test session (`payments_it_<random>`), dropped at the end;
- a fresh schema per test, migrated with the common library's migrations, and a pool on it
  (`migrated_schema` for one with a service's tables too);
- a whole database with every service's migrations (`migrated_dsn`) and a RabbitMQ vhost of its own
  (`vhost_amqp_url`), for a service's whole app;
- one robust AMQP connection per session, and per test a set of unique exchange and queue names
  (`it.<uuid>...`) that are deleted afterwards, whatever the test declared with them.

`TEST_DATABASE_ADMIN_URL` (default `postgresql://postgres@127.0.0.1:5432/postgres`) names the server
and the maintenance database; `AMQP_URL` the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from yarl import URL

from payments_common import broker
from payments_common.broker import Publisher
from payments_common.db import create_pool, ensure_database
from payments_common.migrate import load_migrations, migrate
from payments_common.ratelimit_store import RateLimits
from payments_common.topology import DEFAULT_RETRY_DELAYS_MS, QueueSpec
from payments_tools.migrate_cli import migrate_all

HERE = Path(__file__).parent

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # this hook sees every collected item, not only this folder's
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _admin_url() -> URL:
    return URL(os.environ.get("TEST_DATABASE_ADMIN_URL") or DEFAULT_ADMIN_URL)


@pytest.fixture(scope="session")
async def database_dsn() -> AsyncIterator[str]:
    admin = _admin_url()
    name = f"payments_it_{uuid.uuid4().hex[:12]}"
    dsn = str(admin.with_path(f"/{name}"))
    assert await ensure_database(dsn), f"database {name} already existed"
    yield dsn
    conn = await asyncpg.connect(str(admin))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
    finally:
        await conn.close()


def unique_schema() -> str:
    return f"it_{uuid.uuid4().hex[:12]}"


async def drop_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {_quote(schema)} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def fresh_schema(database_dsn: str) -> AsyncIterator[str]:
    """A unique schema name, not created: for tests of migrate() itself."""
    schema = unique_schema()
    yield schema
    await drop_schema(database_dsn, schema)


@pytest.fixture
async def schema(database_dsn: str) -> AsyncIterator[str]:
    """A unique schema holding the common library's tables (outbox, inbox)."""
    name = unique_schema()
    await migrate(database_dsn, name, load_migrations("payments_common"))
    yield name
    await drop_schema(database_dsn, name)


@pytest.fixture
async def pool(database_dsn: str, schema: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_dsn, schema)
    yield pool
    await pool.close()


@contextlib.asynccontextmanager
async def migrated_schema(dsn: str, *packages: str, size: int = 4) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A fresh schema with the migrations of `packages` (in that order) and a pool of `size` on it; dropped
    afterwards. Yields the schema's name and the pool."""
    name = unique_schema()
    await migrate(dsn, name, [migration for package in packages for migration in load_migrations(package)])
    pool = await create_pool(dsn, name, size)
    try:
        yield name, pool
    finally:
        await pool.close()
        await drop_schema(dsn, name)


@pytest.fixture
async def migrated_dsn() -> AsyncIterator[str]:
    """A database of its own with every service's migrations, as the system's: for a service's whole app
    (`create_app`), which finds its tables in its own schema. Dropped afterwards."""
    admin = _admin_url()
    name = f"payments_it_app_{uuid.uuid4().hex[:12]}"
    dsn = str(admin.with_path("/" + name))
    assert await ensure_database(dsn)
    try:
        await migrate_all(dsn)
        yield dsn
    finally:
        conn = await asyncpg.connect(str(admin))
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
        finally:
            await conn.close()


async def rabbitmqctl(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, f"rabbitmqctl {' '.join(args)}: {out.decode(errors='replace')}"


@pytest.fixture
async def vhost_amqp_url() -> AsyncIterator[str]:
    """The AMQP URL of a RabbitMQ vhost of its own, deleted afterwards: a service's whole app consumes its
    queues, and must not take messages from a system running on this broker."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed: no throwaway vhost for the service's consumers")
    amqp_url = URL(os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL)
    vhost = f"it_app_{uuid.uuid4().hex[:12]}"
    await rabbitmqctl("add_vhost", vhost)
    try:
        await rabbitmqctl("set_permissions", "-p", vhost, amqp_url.user or "guest", ".*", ".*", ".*")
        yield str(amqp_url.with_path("/" + vhost))
    finally:
        await rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
async def amqp_connection() -> AsyncIterator[AbstractRobustConnection]:
    # no start-up retry: an absent broker should fail the tier at once, not hang it
    connection = await broker.connect(os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL, retry=False)
    yield connection
    await connection.close()


@pytest.fixture
async def channel(amqp_connection: AbstractRobustConnection) -> AsyncIterator[AbstractChannel]:
    channel = await amqp_connection.channel()
    yield channel
    with contextlib.suppress(Exception):
        await channel.close()


@pytest.fixture
async def publisher(amqp_connection: AbstractRobustConnection) -> AsyncIterator[Publisher]:
    publisher = Publisher(amqp_connection)
    yield publisher
    await publisher.close()


class BrokerNames:
    """Unique broker names for one test; everything handed out is deleted at teardown."""

    def __init__(self) -> None:
        self.prefix = f"it.{uuid.uuid4()}"
        self.exchanges: list[str] = []
        self.queues: list[str] = []

    def exchange(self, suffix: str = "events") -> str:
        name = f"{self.prefix}.{suffix}"
        self.exchanges.append(name)
        return name

    def queue(self, suffix: str = "q") -> str:
        name = f"{self.prefix}.{suffix}"
        self.queues.append(name)
        return name

    def spec(
        self,
        *,
        exchange: str | None = None,
        routing_key: str = "#",
        retry_delays_ms: tuple[int, ...] = (100, 200),
        suffix: str = "work",
    ) -> QueueSpec:
        """A consumer queue bound to `exchange` (a new unique topic exchange by default)."""
        spec = QueueSpec(
            name=f"{self.prefix}.{suffix}",
            service=self.prefix,
            bindings=((exchange or self.exchange(), routing_key),),
            retry_delays_ms=retry_delays_ms,
        )
        # a consumer started with a deployment's settings declares that spec with the default delay tiers
        # (`with_delays`), so their queues are deleted too: left behind, a few hundred quorum queues over
        # the runs use up the broker's file handle budget
        delays = sorted({*retry_delays_ms, *DEFAULT_RETRY_DELAYS_MS})
        self.queues += [spec.name, spec.dlq, *(f"{spec.name}.retry.{d}ms" for d in delays)]
        self.exchanges.append(spec.dlx)
        return spec

    async def delete_all(self, connection: AbstractRobustConnection) -> None:
        # a failed delete closes the channel, so each one gets its own
        for queue in dict.fromkeys(self.queues):
            async with connection.channel() as channel:
                with contextlib.suppress(aio_pika.exceptions.AMQPError):
                    await channel.queue_delete(queue)
        for exchange in dict.fromkeys(self.exchanges):
            async with connection.channel() as channel:
                with contextlib.suppress(aio_pika.exceptions.AMQPError):
                    await channel.exchange_delete(exchange)


@pytest.fixture
async def names(amqp_connection: AbstractRobustConnection) -> AsyncIterator[BrokerNames]:
    names = BrokerNames()
    yield names
    await names.delete_all(amqp_connection)


REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
async def replicas() -> AsyncIterator[Callable[[], RateLimits]]:
    """Rate-limit stores on this machine's Redis, a new one per call as each replica holds its own,
    all closed after the test."""
    made: list[RateLimits] = []

    def make() -> RateLimits:
        store = RateLimits.connect(REDIS_URL)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


@pytest.fixture
async def silent_redis() -> AsyncIterator[str]:
    """A listener that accepts connections and never answers: a Redis that hangs."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"redis://127.0.0.1:{port}/0"
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()
