"""The consumer against RabbitMQ and PostgreSQL: applied once, retried through the delay queues,
dead-lettered with the reason."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aio_pika import DeliveryMode
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from payments_common import inbox
from payments_common.broker import Publisher
from payments_common.consumer import ATTEMPT_HEADER, Consumer
from payments_common.errors import PermanentError, RetryableError
from payments_common.topology import QueueSpec
from payments_common.uow import UnitOfWork

from .conftest import BrokerNames
from .helpers import drain, eventually, get_message

ROUTING_KEY = "payment.succeeded"


@dataclass(frozen=True, slots=True)
class Delivery:
    message_id: str | None
    headers: dict[str, Any]
    at: float

    @property
    def attempt(self) -> Any:
        return self.headers.get(ATTEMPT_HEADER)


@pytest.fixture
async def applied(pool: asyncpg.Pool) -> asyncpg.Pool:
    """A table the handlers write their effect to; no unique key, so a second apply would show."""
    await pool.execute("CREATE TABLE applied (message_id text NOT NULL, body bytea NOT NULL)")
    return pool


@contextlib.asynccontextmanager
async def consuming(
    connection: AbstractRobustConnection,
    spec: QueueSpec,
    handler: Callable[[AbstractIncomingMessage], Awaitable[None]],
    publisher: Publisher,
) -> AsyncIterator[list[Delivery]]:
    """Run a consumer with `handler`; yields the deliveries it has seen, in order."""
    deliveries: list[Delivery] = []

    async def recording(message: AbstractIncomingMessage) -> None:
        deliveries.append(Delivery(message.message_id, dict(message.headers or {}), time.monotonic()))
        await handler(message)

    consumer = Consumer(connection, spec, recording, publisher, prefetch=10)
    await consumer.start()
    try:
        yield deliveries
    finally:
        await consumer.stop()


def apply_once(pool: asyncpg.Pool, consumer: str) -> Callable[[AbstractIncomingMessage], Awaitable[bool]]:
    """Claim the message and write its effect in one unit of work; False when already applied."""

    async def apply(message: AbstractIncomingMessage) -> bool:
        async with UnitOfWork(pool) as uow:
            if not await inbox.claim(uow.conn, consumer, message.message_id or ""):
                return False
            await uow.conn.execute(
                "INSERT INTO applied (message_id, body) VALUES ($1, $2)", message.message_id, message.body
            )
            return True

    return apply


async def count(pool: asyncpg.Pool, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table}"))


async def count_is(pool: asyncpg.Pool, table: str, expected: int) -> bool:
    return await count(pool, table) == expected


async def test_duplicate_delivery_is_applied_once(
    applied: asyncpg.Pool, amqp_connection: AbstractRobustConnection, publisher: Publisher, names: BrokerNames
) -> None:
    spec = names.spec()
    exchange = spec.bindings[0][0]
    apply = apply_once(applied, spec.name)
    outcomes: list[bool] = []

    async def handler(message: AbstractIncomingMessage) -> None:
        outcomes.append(await apply(message))

    async with consuming(amqp_connection, spec, handler, publisher):
        for _ in range(2):
            await publisher.publish(exchange, ROUTING_KEY, b'{"n": 1}', message_id="evt_duplicate")
        await eventually(lambda: len(outcomes) == 2, 5.0, "both deliveries handled")

    assert sorted(outcomes) == [False, True]
    assert await count(applied, "applied") == 1
    assert await count(applied, "inbox") == 1


async def test_failed_attempt_rolls_back_and_the_retry_through_the_delay_queue_applies(
    applied: asyncpg.Pool,
    amqp_connection: AbstractRobustConnection,
    publisher: Publisher,
    channel: AbstractChannel,
    names: BrokerNames,
) -> None:
    spec = names.spec(retry_delays_ms=(100, 200))
    exchange = spec.bindings[0][0]
    # per delivery: what it found in the database first (inbox claims, applied rows), and its claim
    found: list[tuple[int, int]] = []
    claimed: list[bool] = []

    async def handler(message: AbstractIncomingMessage) -> None:
        found.append((await count(applied, "inbox"), await count(applied, "applied")))
        async with UnitOfWork(applied) as uow:
            claimed.append(await inbox.claim(uow.conn, spec.name, message.message_id or ""))
            await uow.conn.execute("INSERT INTO applied (message_id, body) VALUES ($1, $2)", message.message_id, b"")
            if len(found) == 1:
                raise RuntimeError("database blinked")

    async with consuming(amqp_connection, spec, handler, publisher) as deliveries:
        await publisher.publish(exchange, ROUTING_KEY, b'{"n": 2}', message_id="evt_retry")
        await eventually(lambda: count_is(applied, "applied", 1), 5.0, "the retry to commit")

    first, second = deliveries
    # the failed attempt left neither its claim nor its row, so the retry could claim again
    assert found == [(0, 0), (0, 0)]
    assert claimed == [True, True]
    assert first.attempt is None
    assert second.attempt == 1
    assert second.message_id == "evt_retry"
    assert second.headers["last-error"] == "RuntimeError: database blinked"
    # it came back through the first delay tier, after its TTL
    assert [death["queue"] for death in second.headers["x-death"]] == [spec.retry_queue(1)]
    assert second.at - first.at >= 0.1
    assert await count(applied, "applied") == 1
    assert await count(applied, "inbox") == 1
    assert await drain(await channel.get_queue(spec.dlq)) == []


async def test_permanent_error_goes_to_the_dead_letter_queue_at_once(
    amqp_connection: AbstractRobustConnection,
    publisher: Publisher,
    channel: AbstractChannel,
    names: BrokerNames,
) -> None:
    spec = names.spec(retry_delays_ms=(100, 200))
    exchange = spec.bindings[0][0]
    body = b'{"orderId": "order_unknown"}'

    async def handler(message: AbstractIncomingMessage) -> None:
        raise PermanentError("order order_unknown does not exist", reason="UNKNOWN_ORDER")

    async with consuming(amqp_connection, spec, handler, publisher) as deliveries:
        await publisher.publish(
            exchange,
            ROUTING_KEY,
            body,
            message_id="evt_permanent",
            headers={"webhook-id": "wh_1"},
            correlation_id="corr-1",
        )
        dead = await get_message(await channel.get_queue(spec.dlq), within=3.0)
        assert len(deliveries) == 1

    assert dead.message_id == "evt_permanent"
    assert dead.body == body
    assert dead.correlation_id == "corr-1"
    assert dead.delivery_mode == DeliveryMode.PERSISTENT
    headers: dict[str, Any] = dict(dead.headers or {})
    assert headers["dead-letter-reason"] == "UNKNOWN_ORDER"
    assert headers["dead-letter-error-type"] == "PermanentError"
    assert headers["dead-letter-error"] == "PermanentError: order order_unknown does not exist"
    assert headers["dead-letter-origin-queue"] == spec.name
    assert headers["dead-letter-attempts"] == 1
    assert headers["webhook-id"] == "wh_1"  # the producer's headers travel with it
    # never retried
    for delay in spec.retry_delays_ms:
        assert await drain(await channel.get_queue(f"{spec.name}.retry.{delay}ms")) == []


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RuntimeError("still down"), "RETRIES_EXHAUSTED"),
        (RetryableError("payment not there yet", reason="PAYMENT_NOT_FOUND"), "RETRIES_EXHAUSTED:PAYMENT_NOT_FOUND"),
    ],
    ids=["unclassified", "retryable"],
)
async def test_failing_message_is_dead_lettered_after_the_last_delay_tier(
    amqp_connection: AbstractRobustConnection,
    publisher: Publisher,
    channel: AbstractChannel,
    names: BrokerNames,
    error: Exception,
    reason: str,
) -> None:
    spec = names.spec(retry_delays_ms=(100, 200))
    exchange = spec.bindings[0][0]

    async def handler(message: AbstractIncomingMessage) -> None:
        raise error

    async with consuming(amqp_connection, spec, handler, publisher) as deliveries:
        await publisher.publish(exchange, ROUTING_KEY, b"{}", message_id="evt_exhausted")
        dead = await get_message(await channel.get_queue(spec.dlq), within=5.0)

    # the first delivery, then one per delay tier; `max_attempts` counts the retries
    assert [d.attempt for d in deliveries] == [None, 1, 2]
    assert [d.headers["x-death"][0]["queue"] for d in deliveries[1:]] == [spec.retry_queue(1), spec.retry_queue(2)]
    assert dead.message_id == "evt_exhausted"
    headers: dict[str, Any] = dict(dead.headers or {})
    assert headers["dead-letter-reason"] == reason
    assert headers["dead-letter-reason"].startswith("RETRIES_EXHAUSTED")
    assert headers["dead-letter-error-type"] == type(error).__name__
    assert headers["dead-letter-origin-queue"] == spec.name
    assert headers["dead-letter-attempts"] == spec.max_attempts + 1 == len(deliveries)
    assert headers["dead-letter-first-failure-at"] <= headers["dead-letter-last-failure-at"]
