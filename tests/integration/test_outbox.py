"""The outbox against PostgreSQL and RabbitMQ: what commits is published once, with confirms."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import orjson
import pytest
from aio_pika import DeliveryMode
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection

from payments_common.broker import Publisher
from payments_common.outbox import OutboxEvent, OutboxRelay, notify_channel
from payments_common.topology import declare_exchanges
from payments_common.uow import UnitOfWork

from .conftest import BrokerNames
from .helpers import drain, eventually, get_message


def make_event(exchange: str, n: int = 0, **overrides: object) -> OutboxEvent:
    fields: dict[str, object] = {
        "aggregate_type": "payment",
        "aggregate_id": f"pay_{n}",
        "event_type": "payment.succeeded",
        "exchange": exchange,
        "routing_key": "payment.succeeded",
        "payload": {"n": n, "amount": 50_000, "currency": "INR"},
    }
    fields.update(overrides)
    return OutboxEvent(**fields)  # type: ignore[arg-type]


async def commit(pool: asyncpg.Pool, *events: OutboxEvent) -> None:
    async with UnitOfWork(pool) as uow:
        for event in events:
            uow.emit(event)


@pytest.fixture
async def routed(channel: AbstractChannel, names: BrokerNames) -> tuple[str, AbstractQueue]:
    """A topic exchange and a queue bound to everything on it."""
    exchange = names.exchange()
    await declare_exchanges(channel, exchange)
    queue = await channel.declare_queue(names.queue(), durable=True)
    await queue.bind(exchange, routing_key="#")
    return exchange, queue


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_until_listening(pool: asyncpg.Pool, schema: str) -> None:
    """Until the relay's LISTEN connection is up (its last statement is the LISTEN)."""
    listen = f'LISTEN "{notify_channel(schema)}"'

    async def listening() -> bool:
        return bool(
            await pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = $1)",
                listen,
            )
        )

    await eventually(listening, 5.0, "the relay's LISTEN")


async def test_committed_event_is_published_with_its_id_persistent_and_marked(
    pool: asyncpg.Pool,
    schema: str,
    database_dsn: str,
    publisher: Publisher,
    routed: tuple[str, AbstractQueue],
) -> None:
    exchange, queue = routed
    event = make_event(exchange, headers={"correlation-id": "corr-1"})
    await commit(pool, event)
    relay = OutboxRelay(pool, publisher, dsn=database_dsn, schema=schema)

    assert await relay.relay_once() == 1

    message = await get_message(queue)
    assert message.message_id == str(event.id)
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert orjson.loads(message.body) == event.payload
    assert message.routing_key == "payment.succeeded"
    assert message.type == "payment.succeeded"
    assert message.correlation_id == "corr-1"
    assert (message.headers or {}).get("correlation-id") == "corr-1"
    row = await pool.fetchrow("SELECT published_at, attempts, last_error FROM outbox WHERE id = $1", event.id)
    assert row is not None
    assert row["published_at"] is not None
    assert row["attempts"] == 0
    assert row["last_error"] is None
    # published rows are not claimed again
    assert await relay.relay_once() == 0
    assert await drain(queue) == []


async def test_rolled_back_unit_of_work_leaves_no_outbox_row(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE state_change (id int PRIMARY KEY)")

    with pytest.raises(RuntimeError, match="handler failed"):
        async with UnitOfWork(pool) as uow:
            await uow.conn.execute("INSERT INTO state_change (id) VALUES (1)")
            uow.emit(make_event("payments.events"))
            raise RuntimeError("handler failed")

    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    assert await pool.fetchval("SELECT count(*) FROM state_change") == 0
    # the same work on a clean exit commits both the state and its event
    async with UnitOfWork(pool) as uow:
        await uow.conn.execute("INSERT INTO state_change (id) VALUES (1)")
        uow.emit(make_event("payments.events"))
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
    assert await pool.fetchval("SELECT count(*) FROM state_change") == 1


async def test_several_events_of_one_unit_are_written_whole_with_one_notify_at_commit(
    pool: asyncpg.Pool, schema: str, database_dsn: str
) -> None:
    events = [
        make_event("payments.events", 1, headers={"correlation-id": "corr-1"}),
        make_event("orders.events", 2, aggregate_type="order", routing_key="order.paid", payload={"ü": [1, None]}),
        make_event("payments.events", 3, event_type="payment.failed"),
    ]
    heard: list[str] = []
    listener = await asyncpg.connect(database_dsn)
    try:
        await listener.add_listener(notify_channel(schema), lambda *args: heard.append(args[2]))
        with pytest.raises(RuntimeError):
            async with UnitOfWork(pool) as uow:
                uow.emit(events[0])
                raise RuntimeError("rolled back")
        await commit(pool, *events)
        await eventually(lambda: bool(heard), 5.0, "the commit's NOTIFY")
        await asyncio.sleep(0.2)  # room for the rolled-back unit's notification, were one sent
        assert heard == [notify_channel(schema)]
    finally:
        await listener.close()
    rows = await pool.fetch(
        "SELECT id, aggregate_type, aggregate_id, event_type, exchange, routing_key, payload, headers FROM outbox"
    )
    written = {row["id"]: dict(row) for row in rows}
    assert written == {
        e.id: {
            "id": e.id,
            "aggregate_type": e.aggregate_type,
            "aggregate_id": e.aggregate_id,
            "event_type": e.event_type,
            "exchange": e.exchange,
            "routing_key": e.routing_key,
            "payload": e.payload,
            "headers": e.headers,
        }
        for e in events
    }


async def test_unroutable_event_is_not_marked_published_and_backs_off(
    pool: asyncpg.Pool,
    schema: str,
    database_dsn: str,
    publisher: Publisher,
    channel: AbstractChannel,
    names: BrokerNames,
) -> None:
    exchange = names.exchange()
    await declare_exchanges(channel, exchange)  # exists, nothing bound
    event = make_event(exchange)
    await commit(pool, event)
    relay = OutboxRelay(pool, publisher, dsn=database_dsn, schema=schema)

    assert await relay.relay_once() == 1

    row = await pool.fetchrow(
        "SELECT published_at, attempts, last_error, available_at > now() AS backed_off FROM outbox WHERE id = $1",
        event.id,
    )
    assert row is not None
    assert row["published_at"] is None
    assert row["attempts"] == 1
    assert row["last_error"]
    assert row["backed_off"] is True
    # backing off: the row is not claimed again right away (no hot loop)
    assert await relay.relay_once() == 0


class _StalledPublisher(Publisher):
    """A publisher whose confirms never come: the batch is interrupted while they are awaited."""

    def __init__(self, connection: AbstractRobustConnection) -> None:
        super().__init__(connection)
        self.waiting = asyncio.Event()

    async def publish(self, *args: object, **kwargs: object) -> None:
        self.waiting.set()
        await asyncio.Event().wait()


async def test_a_batch_interrupted_before_its_confirms_leaves_its_rows_unpublished(
    pool: asyncpg.Pool,
    schema: str,
    database_dsn: str,
    amqp_connection: AbstractRobustConnection,
    routed: tuple[str, AbstractQueue],
) -> None:
    # the batch is marked published by the statement that claims it: the mark must roll back with it
    exchange, _ = routed
    events = [make_event(exchange, n) for n in range(3)]
    await commit(pool, *events)
    stalled = _StalledPublisher(amqp_connection)
    relay = OutboxRelay(pool, stalled, dsn=database_dsn, schema=schema)
    batch = asyncio.create_task(relay.relay_once())
    await asyncio.wait_for(stalled.waiting.wait(), 5)
    batch.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await batch

    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 3
    assert await pool.fetchval("SELECT max(attempts) FROM outbox") == 0


async def test_in_one_batch_the_published_rows_are_marked_and_the_failed_ones_back_off(
    pool: asyncpg.Pool,
    schema: str,
    database_dsn: str,
    publisher: Publisher,
    channel: AbstractChannel,
    names: BrokerNames,
    routed: tuple[str, AbstractQueue],
) -> None:
    exchange, queue = routed
    unroutable = names.exchange("unbound")
    await declare_exchanges(channel, unroutable)  # exists, nothing bound
    good, bad = make_event(exchange, 1), make_event(unroutable, 2)
    await commit(pool, good, bad)
    relay = OutboxRelay(pool, publisher, dsn=database_dsn, schema=schema)

    assert await relay.relay_once() == 2

    rows = {
        row["id"]: row
        for row in await pool.fetch("SELECT id, published_at IS NOT NULL AS published, attempts FROM outbox")
    }
    assert (rows[good.id]["published"], rows[good.id]["attempts"]) == (True, 0)
    assert (rows[bad.id]["published"], rows[bad.id]["attempts"]) == (False, 1)
    assert [message.message_id for message in await drain(queue)] == [str(good.id)]


async def test_two_relays_publish_each_row_exactly_once(
    pool: asyncpg.Pool,
    schema: str,
    database_dsn: str,
    amqp_connection: AbstractRobustConnection,
    routed: tuple[str, AbstractQueue],
) -> None:
    exchange, queue = routed
    events = [make_event(exchange, n) for n in range(500)]
    await commit(pool, *events)
    publishers = [Publisher(amqp_connection), Publisher(amqp_connection)]
    relays = [OutboxRelay(pool, p, dsn=database_dsn, schema=schema, batch_size=25) for p in publishers]

    async def run_until_idle(relay: OutboxRelay) -> int:
        total = 0
        while claimed := await relay.relay_once():
            total += claimed
        return total

    try:
        claimed = await asyncio.wait_for(asyncio.gather(*(run_until_idle(r) for r in relays)), 30)
    finally:
        for p in publishers:
            await p.close()

    # both took part, and no row was claimed by both
    assert all(n > 0 for n in claimed), claimed
    assert sum(claimed) == 500
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    # every publish was confirmed before its relay returned, so the queue holds all of them now
    consumed = Counter(message.message_id for message in await drain(queue))
    assert [mid for mid, n in consumed.items() if n > 1] == []
    assert set(consumed) == {str(e.id) for e in events}


async def test_run_is_woken_by_notify_not_by_the_poll(
    pool: asyncpg.Pool,
    schema: str,
    database_dsn: str,
    publisher: Publisher,
    routed: tuple[str, AbstractQueue],
) -> None:
    exchange, queue = routed
    relay = OutboxRelay(pool, publisher, dsn=database_dsn, schema=schema, poll_interval=30)

    async with running(relay):
        await wait_until_listening(pool, schema)
        for n in range(2):  # the second one long after the listener's start-up catch-up
            event = make_event(exchange, n)
            await commit(pool, event)
            message = await get_message(queue, within=3.0)
            assert message.message_id == str(event.id)


class RelayCommittingDuringItsBatch(OutboxRelay):
    """After its first batch that claimed something, commits another event before returning, and waits
    until the NOTIFY of that commit has reached the relay's listener. Nothing else wakes the relay
    afterwards, so that notification must survive the end of the batch."""

    def __init__(self, *args: object, during_batch: Callable[[], Awaitable[None]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._during_batch: Callable[[], Awaitable[None]] | None = during_batch

    async def relay_once(self) -> int:
        claimed = await super().relay_once()
        if claimed and self._during_batch is not None:
            during_batch, self._during_batch = self._during_batch, None
            await during_batch()
            await eventually(self._wakeup.is_set, 3.0, "the notification to reach the relay")
        return claimed


async def test_run_keeps_a_notification_that_arrives_during_a_batch(
    pool: asyncpg.Pool,
    schema: str,
    database_dsn: str,
    publisher: Publisher,
    routed: tuple[str, AbstractQueue],
) -> None:
    exchange, queue = routed
    first, second = make_event(exchange, 1), make_event(exchange, 2)
    relay = RelayCommittingDuringItsBatch(
        pool,
        publisher,
        dsn=database_dsn,
        schema=schema,
        poll_interval=30,
        during_batch=lambda: commit(pool, second),
    )

    async with running(relay):
        await wait_until_listening(pool, schema)
        await commit(pool, first)
        received = [(await get_message(queue, within=3.0)).message_id for _ in range(2)]

    assert received == [str(first.id), str(second.id)]
