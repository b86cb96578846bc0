"""RabbitMQ connection and a publisher that only reports success once the broker confirmed.

A publish is confirmed, persistent and mandatory: an unroutable message comes back as a failure
(aio-pika would otherwise resolve a returned message as success), and every publish has a timeout,
because a publish on a connection that dropped can hang. A timeout means "unknown": the caller
retries and the consumer's inbox absorbs the duplicate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from pamqp.commands import Basic
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from payments_common.logging import get_logger

log = get_logger(__name__)

PUBLISH_TIMEOUT_SECONDS = 5.0


class PublishError(Exception):
    """The broker did not confirm the message: nacked, returned as unroutable, timed out or offline."""


async def connect(url: str, *, retry: bool = True) -> AbstractRobustConnection:
    """A robust connection; with `retry`, wait for the broker to come up (with backoff) at start."""
    if not retry:
        return await aio_pika.connect_robust(url)
    async for attempt in AsyncRetrying(
        wait=wait_exponential_jitter(multiplier=0.2, max=5, jitter=0.5),
        retry=retry_if_exception_type((OSError, ConnectionError, aio_pika.exceptions.AMQPConnectionError)),
        before_sleep=lambda state: log.warning(
            "broker.connect_retry",
            attempt=state.attempt_number,
            error=type(state.outcome.exception()).__name__ if state.outcome else None,
        ),
    ):
        with attempt:
            return await aio_pika.connect_robust(url)
    raise AssertionError("unreachable")


class Publisher:
    """Confirmed publishes over one channel; exchanges are looked up once and cached."""

    def __init__(self, connection: AbstractRobustConnection, timeout: float = PUBLISH_TIMEOUT_SECONDS) -> None:
        self._connection = connection
        self._timeout = timeout
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._lock = asyncio.Lock()

    async def _exchange(self, name: str) -> AbstractExchange:
        async with self._lock:
            if self._channel is None or self._channel.is_closed:
                self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
                self._exchanges.clear()
            if name not in self._exchanges:
                channel = self._channel
                self._exchanges[name] = (
                    channel.default_exchange if name == "" else await channel.get_exchange(name, ensure=False)
                )
            return self._exchanges[name]

    def _open_exchange(self, name: str) -> AbstractExchange | None:
        if self._channel is None or self._channel.is_closed:
            return None
        return self._exchanges.get(name)

    @property
    def channel(self) -> AbstractChannel | None:
        """The channel publishes go out on, None before the first or after one that closed it."""
        return self._channel

    async def open(self) -> None:
        """Open the channel now, at start-up: a channel opened lazily inside a request would carry
        that request's log context into every later log line of the channel."""
        await self._exchange("")

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, Any] | None = None,
        correlation_id: str | None = None,
        content_type: str = "application/json",
        message_type: str | None = None,
    ) -> None:
        message = aio_pika.Message(
            body,
            message_id=message_id,
            headers=dict(headers or {}),
            correlation_id=correlation_id,
            content_type=content_type,
            type=message_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            # one deadline over the channel's set-up and the confirm together, and none of aiormq's own:
            # a second timer armed and cancelled on every publish is a measurable share of its cost
            async with asyncio.timeout(self._timeout):
                # the channel open and the exchange known (every publish but the first few): no lock
                target = self._open_exchange(exchange) or await self._exchange(exchange)
                confirmation = await target.publish(message, routing_key=routing_key, mandatory=True, timeout=None)
        except PublishError:
            raise
        except TimeoutError:
            raise PublishError(f"no confirm from the broker within {self._timeout:g} s") from None
        except Exception as exc:  # nack, return, timeout, closed channel or connection
            if self._channel is not None and self._channel.is_closed:
                self._channel = None
            raise PublishError(f"{type(exc).__name__}: {exc}"[:300]) from exc
        # a returned (unroutable) message resolves to the returned delivery, not an Ack
        if not isinstance(confirmation, Basic.Ack):
            raise PublishError(f"broker did not ack: {type(confirmation).__name__}")

    async def close(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()


@asynccontextmanager
async def messaging(url: str) -> AsyncIterator[tuple[AbstractRobustConnection, Publisher]]:
    """A service's broker connection and its confirmed publisher, closed in reverse on the way out."""
    connection = await connect(url)
    try:
        publisher = Publisher(connection)
        await publisher.open()
        try:
            yield connection, publisher
        finally:
            await publisher.close()
    finally:
        await connection.close()


@dataclass(frozen=True, slots=True)
class QueueCount:
    messages: int
    consumers: int


async def queue_count(connection: AbstractRobustConnection, name: str) -> QueueCount | None:
    """The broker's ready count and consumers of queue `name`, None when there is no such queue: a passive
    declare, which reads the counts and creates nothing."""
    # a passive declare of a missing queue closes its channel, so it gets one of its own; robust=False, or
    # the robust channel would answer from its cache of declared queues
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(name, passive=True, robust=False)
        result = declared.declaration_result
        return QueueCount(result.message_count or 0, result.consumer_count or 0)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return None
    finally:
        with suppress(Exception):
            await channel.close()
