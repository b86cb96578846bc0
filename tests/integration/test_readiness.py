"""Readiness against the real PostgreSQL and RabbitMQ: ready with both up; 503 naming `database` when the
database is gone or gives no connection in time, `migrations` when the recorded migrations are not the
shipped ones, `broker` when the connection or a consumer's channel is closed. And the metrics whose
values come from them: dead-letter depth, the outbox relay's published, lag and backlog.

Nothing here stops the machine's PostgreSQL or RabbitMQ: a database of the test's own is dropped, and a
connection of the test's own is closed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from payments_common import broker, metrics
from payments_common.broker import Publisher
from payments_common.consumer import Consumer
from payments_common.db import create_pool, ensure_database
from payments_common.health import (
    broker_check,
    consumer_channels,
    database_check,
    migrations_check,
    readiness,
    shipped_migrations,
)
from payments_common.http import base_app
from payments_common.inbox import claim
from payments_common.migrate import Migration, migrate
from payments_common.outbox import OutboxRelay
from payments_common.topology import declare_exchanges, declare_queue
from payments_common.uow import UnitOfWork

from .conftest import DEFAULT_AMQP_URL, BrokerNames, _admin_url
from .helpers import eventually
from .test_outbox import make_event

COMMON = shipped_migrations("payments_common")


async def probe(app: web.Application) -> tuple[int, dict[str, Any]]:
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/readyz")
        return r.status, await r.json()


def app_with(
    pool: asyncpg.Pool,
    schema: str,
    connection: AbstractRobustConnection,
    *,
    migrations: list[Migration] = COMMON,
    channels: dict[str, AbstractChannel | None] | None = None,
    publisher: Publisher | None = None,
) -> web.Application:
    """An app with the checks a service registers (its app.py does the same with getters of its deps)."""
    app = base_app(max_body_bytes=1024)
    ready = readiness(app)
    ready.add("database", database_check(lambda: pool))
    ready.add("migrations", migrations_check(lambda: pool, schema, migrations))
    ready.add("broker", broker_check(lambda: connection, lambda: channels or {}, publisher_getter=lambda: publisher))
    return app


async def test_ready_when_database_migrations_and_broker_are_up(
    pool: asyncpg.Pool, schema: str, amqp_connection: AbstractRobustConnection, publisher: Publisher
) -> None:
    status, body = await probe(app_with(pool, schema, amqp_connection, publisher=publisher))
    assert status == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "migrations", "broker"}
    assert publisher.channel is not None and not publisher.channel.is_closed


@pytest.fixture
async def doomed_database() -> AsyncIterator[str]:
    """A database of this test's own, which the test drops under a live pool."""
    admin = _admin_url()
    name = f"payments_it_gone_{uuid.uuid4().hex[:8]}"
    dsn = str(admin.with_path(f"/{name}"))
    await ensure_database(dsn)
    yield dsn
    conn = await asyncpg.connect(str(admin))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def test_a_database_gone_under_the_pool_is_named(
    doomed_database: str, amqp_connection: AbstractRobustConnection
) -> None:
    schema = "doomed"
    await migrate(doomed_database, schema, COMMON)
    pool = await create_pool(doomed_database, schema, 2)
    try:
        app = app_with(pool, schema, amqp_connection)
        assert (await probe(app))[0] == 200
        # terminates the pool's connections too (FORCE): its reconnects then find no database
        admin = await asyncpg.connect(str(_admin_url()))
        try:
            await admin.execute(f'DROP DATABASE "{URL(doomed_database).path.lstrip("/")}" WITH (FORCE)')
        finally:
            await admin.close()
        start = time.monotonic()
        status, body = await probe(app)
        assert time.monotonic() - start < 2.5
        assert status == 503
        assert "database" in body["failing"]
        assert "broker" not in body["failing"]
        assert body["checks"]["database"]["error"]
    finally:
        pool.terminate()


async def test_a_database_that_gives_no_connection_in_time_is_unready_within_two_seconds(
    database_dsn: str, schema: str, amqp_connection: AbstractRobustConnection
) -> None:
    # a pool whose only connection is held: the probe's acquire waits like it would on a hung server
    pool = await create_pool(database_dsn, schema, 1)
    try:
        app = app_with(pool, schema, amqp_connection)
        async with pool.acquire():
            start = time.monotonic()
            status, body = await probe(app)
            assert time.monotonic() - start < 2.5
        assert status == 503
        assert body["failing"] == ["database", "migrations"]
        assert "no answer within" in body["checks"]["database"]["error"]
        assert (await probe(app))[0] == 200
    finally:
        await pool.close()


async def test_a_missing_migration_is_named(
    pool: asyncpg.Pool, schema: str, amqp_connection: AbstractRobustConnection
) -> None:
    future = Migration("payments_common", 9999, "not_yet", "SELECT 1")
    status, body = await probe(app_with(pool, schema, amqp_connection, migrations=[*COMMON, future]))
    assert status == 503
    assert body["failing"] == ["migrations"]
    assert "not applied: payments_common:9999_not_yet" in body["checks"]["migrations"]["error"]

    # an applied migration this process does not ship is a newer release's (a rolling upgrade migrates
    # first, and migrations only expand): the older process stays ready beside it
    await pool.execute(
        f'INSERT INTO "{schema}".schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)',
        "payments_common",
        9998,
        "from_a_newer_release",
        "x",
    )
    status, body = await probe(app_with(pool, schema, amqp_connection, migrations=COMMON))
    assert status == 200, body
    # but one whose file changed after it was applied is named
    changed = Migration(COMMON[0].component, COMMON[0].version, COMMON[0].name, COMMON[0].sql + "\n-- edited")
    status, body = await probe(app_with(pool, schema, amqp_connection, migrations=[changed]))
    assert status == 503
    error = body["checks"]["migrations"]["error"]
    assert "from_a_newer_release" not in error
    assert "changed: payments_common:0001_messaging" in error


async def test_a_schema_never_migrated_is_named(pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection) -> None:
    status, body = await probe(app_with(pool, f"never_{uuid.uuid4().hex[:8]}", amqp_connection))
    assert status == 503
    assert body["failing"] == ["migrations"]
    assert "no migrations applied" in body["checks"]["migrations"]["error"]


async def test_a_closed_broker_connection_is_named(pool: asyncpg.Pool, schema: str) -> None:
    connection = await broker.connect(DEFAULT_AMQP_URL, retry=False)
    app = app_with(pool, schema, connection)
    assert (await probe(app))[0] == 200
    await connection.close()
    status, body = await probe(app)
    assert status == 503
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["error"] == "broker connection closed"


async def test_a_consumers_closed_channel_is_named(
    pool: asyncpg.Pool,
    schema: str,
    amqp_connection: AbstractRobustConnection,
    publisher: Publisher,
    names: BrokerNames,
) -> None:
    async def ignore(_: Any) -> None:
        return None

    consumer = Consumer(amqp_connection, names.spec(), ignore, publisher)
    await consumer.start()
    try:
        consumers = [consumer]
        app = base_app(max_body_bytes=1024)
        readiness(app).add("broker", broker_check(lambda: amqp_connection, lambda: consumer_channels(consumers)))
        assert (await probe(app))[0] == 200
        assert consumer.channel is not None
        await consumer.channel.close()
        status, body = await probe(app)
        assert status == 503
        assert body["failing"] == ["broker"]
        assert body["checks"]["broker"]["error"] == f"channels closed: consumer:{consumer.queue_name}"
    finally:
        await consumer.stop(drain_seconds=0.1)


# ---------------------------------------------------------------------------------------------
# the metrics read from the broker and the database
# ---------------------------------------------------------------------------------------------


async def test_dead_letter_depth_is_read_with_a_passive_declare(
    amqp_connection: AbstractRobustConnection, channel: AbstractChannel, names: BrokerNames
) -> None:
    spec = names.spec()
    await declare_queue(channel, spec)
    missing = names.spec(suffix="never-declared")
    for n in range(2):
        await channel.default_exchange.publish(aio_pika.Message(b"{}", message_id=str(n)), routing_key=spec.dlq)
    refresh = metrics.dead_letter_depth(lambda: amqp_connection, [missing, spec])

    async def counted() -> bool:
        await refresh()
        return metrics.value("dead_letter_messages", {"queue": spec.dlq}) == 2

    await eventually(counted, 5.0, "the dead-letter depth")
    # a queue that does not exist is skipped, not a failed refresh, and creates nothing
    assert metrics.value("dead_letter_messages", {"queue": missing.dlq}) == 0
    with pytest.raises(aio_pika.exceptions.ChannelClosed):
        async with amqp_connection.channel() as probe_channel:
            await probe_channel.declare_queue(missing.dlq, passive=True)


async def test_the_relay_records_published_lag_and_backlog(
    pool: asyncpg.Pool, schema: str, channel: AbstractChannel, publisher: Publisher, names: BrokerNames
) -> None:
    exchange = names.exchange()
    await declare_exchanges(channel, exchange)
    queue = await channel.declare_queue(names.queue(), durable=True)
    await queue.bind(exchange, routing_key="#")
    relay = OutboxRelay(pool, publisher, dsn="unused", schema=schema)
    async with UnitOfWork(pool) as uow:
        for n in range(3):
            uow.emit(make_event(exchange, n))
    await asyncio.sleep(0.05)

    await relay.count_backlog()
    assert metrics.value("outbox_backlog", {"service": schema}) == 3
    assert metrics.value("outbox_oldest_unpublished_age_seconds", {"service": schema}) >= 0.05

    assert await relay.relay_once() == 3
    assert metrics.value("outbox_published_total", {"service": schema}) == 3
    assert metrics.value("outbox_publish_lag_seconds_count", {"service": schema}) == 3
    assert metrics.value("outbox_publish_lag_seconds_sum", {"service": schema}) >= 0.15

    await relay.count_backlog()
    assert metrics.value("outbox_backlog", {"service": schema}) == 0
    assert metrics.value("outbox_oldest_unpublished_age_seconds", {"service": schema}) == 0


async def test_inbox_duplicates_are_counted_by_consumer(pool: asyncpg.Pool) -> None:
    consumer = f"test-{uuid.uuid4().hex[:8]}"
    message_id = str(uuid.uuid4())
    async with pool.acquire() as conn:
        assert await claim(conn, consumer, message_id)
        assert metrics.value("inbox_duplicates_total", {"consumer": consumer}) == 0
        assert not await claim(conn, consumer, message_id)
    assert metrics.value("inbox_duplicates_total", {"consumer": consumer}) == 1
