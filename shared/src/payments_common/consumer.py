"""A queue consumer that applies each message once and routes failures itself.

- success: ack (the handler committed its inbox claim with its effects).
- `PermanentError`: published to the dead-letter queue with why, then acked.
- anything else: republished to the next delay tier with an incremented `retry-attempt` header, then
  acked; past the last tier, dead-lettered like a permanent error.
The republish is confirmed before the ack, so a crash in between gives a duplicate (absorbed by the
inbox), never a loss. Nothing is ever `nack(requeue=True)`-ed in a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from pydantic import BaseModel, ValidationError

from payments_common import metrics
from payments_common.broker import Publisher, PublishError
from payments_common.errors import PermanentError, ProcessingError
from payments_common.logging import bound, get_logger
from payments_common.timeutil import iso, utcnow
from payments_common.topology import QueueSpec, declare_consumers_queue, declare_queue
from payments_common.waiting import wait_set

log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[AbstractIncomingMessage], Awaitable[None]]
# a decoded message's step: its id, the message, its correlation id (see `payments_common.inbox.claim_once`)
Step = Callable[[str, M, str | None], Awaitable[None]]

ATTEMPT_HEADER = "retry-attempt"
FIRST_FAILURE_HEADER = "first-failure-at"
LAST_FAILURE_HEADER = "last-failure-at"
LAST_ERROR_HEADER = "last-error"
# why a message is in a dead-letter queue; the operator tooling reads these
DEAD_LETTER_HEADERS = (
    "dead-letter-reason",
    "dead-letter-error-type",
    "dead-letter-error",
    "dead-letter-origin-queue",
    "dead-letter-attempts",
    "dead-letter-first-failure-at",
    "dead-letter-last-failure-at",
)


def decode(message: AbstractIncomingMessage, model: type[M]) -> tuple[str, M]:
    """The message id and the body as `model`; a message that is neither is permanently bad."""
    if not message.message_id:
        raise PermanentError("message has no message_id", reason="MALFORMED_EVENT")
    try:
        return message.message_id, model.model_validate_json(message.body)
    except ValidationError as exc:
        raise PermanentError(
            f"not a {model.__name__}: {exc.error_count()} validation errors", reason="MALFORMED_EVENT"
        ) from None


def _attempts(message: AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get(ATTEMPT_HEADER, 0)
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


class Consumer:
    def __init__(
        self,
        connection: AbstractRobustConnection,
        spec: QueueSpec,
        handler: Handler,
        publisher: Publisher,
        *,
        prefetch: int = 32,
    ) -> None:
        self._connection = connection
        self._spec = spec
        self._handler = handler
        self._publisher = publisher
        self._prefetch = prefetch
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def queue_name(self) -> str:
        return self._spec.name

    @property
    def channel(self) -> AbstractChannel | None:
        """The channel it consumes on, None before `start` (readiness watches it: payments_common.health)."""
        return self._queue.channel if self._queue is not None else None

    async def start(self) -> None:
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await declare_queue(channel, self._spec)
        self._tag = await self._queue.consume(self._on_message)
        log.info("consumer.started", queue=self._spec.name, prefetch=self._prefetch)

    async def stop(self, drain_seconds: float = 5.0) -> None:
        if self._queue is not None and self._tag is not None:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._tag)
            # let handlers already running finish and ack: an ack sent after the channel's close frame
            # is a channel error that closes the whole connection, other consumers' channels with it
            await wait_set(self._idle, drain_seconds)
            with contextlib.suppress(Exception):
                await self._queue.channel.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        context: dict[str, Any] = {"message_id": message.message_id, "queue": self._spec.name}
        if message.correlation_id:
            context["correlation_id"] = message.correlation_id
        self._in_flight += 1
        self._idle.clear()
        start = time.perf_counter()
        # what stays when the ack or the failure's routing itself raised (a channel that closed under us)
        outcome = metrics.ERROR
        try:
            with bound(**context):
                try:
                    await self._handler(message)
                except Exception as exc:
                    outcome = await self._route_failure(message, exc)
                    return
                await message.ack()
                outcome = metrics.APPLIED
        finally:
            metrics.event_consumed(self._spec.name, outcome, time.perf_counter() - start)
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _route_failure(self, message: AbstractIncomingMessage, exc: Exception) -> str:
        """Park the message (a delay tier or the dead-letter queue) and ack it; return the outcome counted."""
        attempt = _attempts(message) + 1
        now = iso(utcnow())
        # x- headers (x-death, x-delivery-count) belong to the broker; they are not ours to carry on
        headers: dict[str, Any] = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
        headers.setdefault(FIRST_FAILURE_HEADER, now)
        headers[LAST_FAILURE_HEADER] = now
        headers[ATTEMPT_HEADER] = attempt
        error = f"{type(exc).__name__}: {exc}"[:500]
        headers[LAST_ERROR_HEADER] = error
        permanent = isinstance(exc, PermanentError)
        try:
            if permanent or attempt > self._spec.max_attempts:
                reason = exc.reason if isinstance(exc, ProcessingError) else "RETRIES_EXHAUSTED"
                if not permanent and isinstance(exc, ProcessingError):
                    reason = f"RETRIES_EXHAUSTED:{exc.reason}"
                headers.update(
                    {
                        "dead-letter-reason": reason,
                        "dead-letter-error-type": type(exc).__name__,
                        "dead-letter-error": error,
                        "dead-letter-origin-queue": self._spec.name,
                        "dead-letter-attempts": attempt,
                        "dead-letter-first-failure-at": headers[FIRST_FAILURE_HEADER],
                        "dead-letter-last-failure-at": now,
                    }
                )
                await self._republish(message, self._spec.dlx, self._spec.name, headers)
                log.warning("message.dead_lettered", reason=reason, error=error, attempts=attempt)
                outcome = metrics.MALFORMED if reason == "MALFORMED_EVENT" else metrics.DEAD_LETTERED
            else:
                target = self._spec.retry_queue(attempt)
                await self._republish(message, "", target, headers)
                log.info("message.retry_scheduled", attempt=attempt, delay_queue=target, error=error)
                # the tier, not the attempt: past the last tier the attempts repeat it, and stay bounded
                metrics.message_retried(self._spec.name, min(attempt, self._spec.max_attempts))
                outcome = metrics.RETRIED
        except PublishError as publish_error:
            # could not park it: hand it back to the broker after a pause; x-delivery-limit bounds this
            log.error("message.failure_routing_failed", error=str(publish_error))
            await asyncio.sleep(1)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
            return metrics.REQUEUED
        await message.ack()
        return outcome

    async def _republish(
        self, message: AbstractIncomingMessage, exchange: str, routing_key: str, headers: dict[str, Any]
    ) -> None:
        await self._publisher.publish(
            exchange,
            routing_key,
            message.body,
            message_id=message.message_id or "",
            headers=headers,
            correlation_id=message.correlation_id,
            content_type=message.content_type or "application/json",
            message_type=message.type,
        )


async def start_consumer(
    stack: contextlib.AsyncExitStack,
    connection: AbstractRobustConnection,
    spec: QueueSpec,
    handler: Handler,
    publisher: Publisher,
    *,
    prefetch: int,
) -> Consumer:
    """Start consuming `spec`; stopped (running handlers let finish) when `stack` closes."""
    consumer = Consumer(connection, spec, handler, publisher, prefetch=prefetch)
    stack.push_async_callback(consumer.stop)
    await consumer.start()
    return consumer


def handler(model: type[M], step: Step[M]) -> Handler:
    """A queue's handler: decode each message as `model` (a malformed one is dead-lettered) and take `step`."""

    async def handle(message: AbstractIncomingMessage) -> None:
        message_id, body = decode(message, model)
        await step(message_id, body, message.correlation_id)

    return handle


def by_message_type(handlers: Mapping[str, Handler], default: Handler) -> Handler:
    """One queue carrying several messages: the AMQP message type (kept through retry tiers and dead-letter
    requeues, unlike the routing key) says which handler takes one."""

    async def handle(message: AbstractIncomingMessage) -> None:
        await handlers.get(message.type or "", default)(message)

    return handle


@dataclass(frozen=True, slots=True)
class Consumes:
    """A row of a service's consumer table: the queue and the handler of its messages; `prefetch` None
    takes the service's CONSUMER_PREFETCH."""

    spec: QueueSpec
    handler: Handler
    prefetch: int | None = None


async def start_consumers(
    stack: contextlib.AsyncExitStack,
    connection: AbstractRobustConnection,
    publisher: Publisher,
    table: list[Consumes],
    *,
    publishes_into: tuple[QueueSpec, ...] = (),
    retry_delays_ms: tuple[int, ...],
    prefetch: int,
) -> list[Consumer]:
    """A service's start-up of its messaging: first the queues it publishes into (they must exist before the
    outbox relay's first mandatory publish), then one consumer per row of its table, each with the configured
    retry tiers; all stopped, running handlers let finish, when `stack` closes."""
    for spec in publishes_into:
        await declare_consumers_queue(connection, spec.with_retry_delays(retry_delays_ms))
    started = []
    for row in table:
        spec = row.spec.with_retry_delays(retry_delays_ms)
        started.append(
            await start_consumer(stack, connection, spec, row.handler, publisher, prefetch=row.prefetch or prefetch)
        )
    return started
