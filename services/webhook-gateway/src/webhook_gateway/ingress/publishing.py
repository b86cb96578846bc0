"""Handing an accepted webhook to the broker, durably, or saying promptly that it cannot be done.

The gateway answers 200 only once the broker confirmed the message; anything else is a 503, which
makes the payment gateway retry. The connection is set up in the background so that, while
RabbitMQ is not up yet, the gateway answers 503 at once instead of refusing connections.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from dataclasses import dataclass

from aio_pika.abc import AbstractRobustConnection
from tenacity import AsyncRetrying, wait_exponential_jitter

from payments_common import broker, events, topology
from payments_common.broker import Publisher, PublishError
from payments_common.logging import get_logger
from payments_common.topology import QueueSpec

log = get_logger(__name__)

MESSAGE_TYPE = "payment.webhook"
# a refund's report: its own type, which the consumer reads to tell the two apart
REFUND_MESSAGE_TYPE = events.REFUND_WEBHOOK_TYPE


@dataclass(frozen=True, slots=True)
class Destination:
    exchange: str = topology.WEBHOOKS_EXCHANGE
    routing_key: str = topology.PAYMENT_WEBHOOK_KEY
    # declared at startup so a mandatory publish is routable even before its consumer ever ran
    queue: QueueSpec | None = topology.PAYMENT_SVC_WEBHOOKS
    refund_routing_key: str = topology.REFUND_WEBHOOK_KEY

    def routing_key_for(self, message_type: str) -> str:
        return self.refund_routing_key if message_type == REFUND_MESSAGE_TYPE else self.routing_key


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    event_id: str
    body: bytes
    correlation_id: str
    webhook_timestamp: int
    message_type: str = MESSAGE_TYPE

    @classmethod
    def of(
        cls,
        envelope: events.WebhookEnvelope | events.RefundWebhookEnvelope,
        *,
        correlation_id: str,
        webhook_timestamp: int,
    ) -> WebhookMessage:
        """The envelope as published: its JSON the body, its event id the message id, its kind the type
        the consumer reads to tell a refund's report from a payment's."""
        refund = isinstance(envelope, events.RefundWebhookEnvelope)
        return cls(
            event_id=envelope.eventId,
            body=envelope.to_json(),
            correlation_id=correlation_id,
            webhook_timestamp=webhook_timestamp,
            message_type=REFUND_MESSAGE_TYPE if refund else MESSAGE_TYPE,
        )


class EventSink(abc.ABC):
    """Where accepted webhooks go. `publish` returns only once the event is durable."""

    @abc.abstractmethod
    async def publish(self, message: WebhookMessage) -> None:
        """Raise `PublishError` when the event could not be made durable."""


class BrokerSink(EventSink):
    def __init__(self, amqp_url: str, destination: Destination, timeout: float) -> None:
        self._amqp_url = amqp_url
        self._destination = destination
        self._timeout = timeout
        self._connection: AbstractRobustConnection | None = None
        self._publisher: Publisher | None = None
        self._ready = asyncio.Event()
        self._setup: asyncio.Task[None] | None = None

    @property
    def connection(self) -> AbstractRobustConnection | None:
        """The broker connection, None until the background set-up has made it (readiness reads it)."""
        return self._connection

    @property
    def publisher(self) -> Publisher | None:
        return self._publisher

    def start(self) -> None:
        self._setup = asyncio.create_task(self._establish(), name="broker-setup")

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def _establish(self) -> None:
        # connect() itself waits for the broker; this loop also covers a declaration failing
        # (the broker dropping mid-way), so the gateway never stays at 503 for good
        async for attempt in AsyncRetrying(
            wait=wait_exponential_jitter(multiplier=0.5, max=10),
            before_sleep=lambda state: log.warning(
                "broker.setup_retry",
                attempt=state.attempt_number,
                error=type(state.outcome.exception()).__name__ if state.outcome else None,
            ),
        ):
            with attempt:
                connection = await broker.connect(self._amqp_url)
                try:
                    await self._declare(connection)
                except BaseException:
                    await connection.close()
                    raise
                publisher = Publisher(connection, timeout=self._timeout)
                await publisher.open()
                self._connection = connection
                self._publisher = publisher
        self._ready.set()
        log.info("broker.ready", exchange=self._destination.exchange)

    async def _declare(self, connection: AbstractRobustConnection) -> None:
        if self._destination.queue is None:
            return
        channel = await connection.channel()
        try:
            await topology.declare_queue(channel, self._destination.queue)
        finally:
            await channel.close()

    async def publish(self, message: WebhookMessage) -> None:
        connection, publisher = self._connection, self._publisher
        if connection is None or publisher is None:
            raise PublishError("broker connection is not up yet")
        # the robust connection is reconnecting: fail now rather than wait out the timeout
        if not connection.connected.is_set():
            raise PublishError("broker connection is down")
        # the publisher's deadline covers the channel's set-up and the confirm together
        await publisher.publish(
            self._destination.exchange,
            self._destination.routing_key_for(message.message_type),
            message.body,
            message_id=message.event_id,
            headers={"correlation-id": message.correlation_id, "webhook-timestamp": message.webhook_timestamp},
            correlation_id=message.correlation_id,
            message_type=message.message_type,
        )

    async def close(self) -> None:
        if self._setup is not None:
            self._setup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._setup
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.close()
        if self._connection is not None:
            await self._connection.close()
