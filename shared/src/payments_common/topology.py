"""The broker's exchanges and queues, declared by whoever uses them (declarations are idempotent).

Per consumer queue `Q` owned by service `S`:
- `Q`: durable quorum queue, bound to the exchanges it consumes; dead-letters to `S.dlx` (a safety net
  for poison messages past `x-delivery-limit`, since consumers route failures themselves).
- `Q.retry.<n>`: delay tiers. A message published there waits out the tier's TTL and is dead-lettered
  back to `Q` through the default exchange. Our own `retry-attempt` header counts attempts.
- `Q.dlq`: bound to `S.dlx` with routing key `Q`; what keeps failing waits there for an operator.

The dead-letter exchange is declared before any queue that names it: a missing DLX drops silently.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection
from pamqp.common import FieldTable

WEBHOOKS_EXCHANGE = "payments.webhooks"
EVENTS_EXCHANGE = "payments.events"
ORDER_EVENTS_EXCHANGE = "orders.events"

PAYMENT_WEBHOOK_KEY = "webhook.payment"
REFUND_WEBHOOK_KEY = "webhook.refund"

DEFAULT_RETRY_DELAYS_MS: tuple[int, ...] = (500, 2_000, 10_000, 30_000, 120_000)


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    service: str
    bindings: tuple[tuple[str, str], ...]
    retry_delays_ms: tuple[int, ...] = DEFAULT_RETRY_DELAYS_MS
    delivery_limit: int = 20

    @property
    def dlx(self) -> str:
        return f"{self.service}.dlx"

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"

    def retry_queue(self, attempt: int) -> str:
        """The delay queue for the given 1-based attempt; the last tier repeats."""
        index = min(attempt, len(self.retry_delays_ms)) - 1
        return f"{self.name}.retry.{self.retry_delays_ms[index]}ms"

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays_ms)

    def with_retry_delays(self, delays_ms: tuple[int, ...]) -> QueueSpec:
        """This queue with the delay tiers a deployment configured (`RETRY_DELAYS_MS`)."""
        return dataclasses.replace(self, retry_delays_ms=delays_ms)


async def declare_exchanges(channel: AbstractChannel, *names: str) -> None:
    for name in names:
        await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


def _quorum(extra: FieldTable) -> FieldTable:
    # at-least-once dead-lettering keeps a message until the target queue confirms it (quorum only,
    # needs reject-publish overflow); the default at-most-once would drop it on the way
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        **extra,
    }


async def declare_consumers_queue(connection: AbstractRobustConnection, spec: QueueSpec) -> None:
    """Declare a queue this process publishes into on its own channel, closed again afterwards."""
    channel = await connection.channel()
    try:
        await declare_queue(channel, spec)
    finally:
        await channel.close()


async def declare_queue(channel: AbstractChannel, spec: QueueSpec) -> AbstractQueue:
    await declare_exchanges(channel, *{exchange for exchange, _ in spec.bindings})
    dlx = await channel.declare_exchange(spec.dlx, aio_pika.ExchangeType.DIRECT, durable=True)
    dlq = await channel.declare_queue(spec.dlq, durable=True, arguments={"x-queue-type": "quorum"})
    await dlq.bind(dlx, routing_key=spec.name)
    for delay in sorted(set(spec.retry_delays_ms)):
        await channel.declare_queue(
            f"{spec.name}.retry.{delay}ms",
            durable=True,
            arguments=_quorum(
                {"x-message-ttl": delay, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": spec.name}
            ),
        )
    queue = await channel.declare_queue(
        spec.name,
        durable=True,
        arguments=_quorum(
            {
                "x-dead-letter-exchange": spec.dlx,
                "x-dead-letter-routing-key": spec.name,
                "x-delivery-limit": spec.delivery_limit,
            }
        ),
    )
    for exchange, routing_key in spec.bindings:
        await queue.bind(exchange, routing_key=routing_key)
    return queue


def _work_queue(service: str, topic: str, *bindings: tuple[str, str]) -> QueueSpec:
    """The queue `<service>.<topic>`, which `service` consumes."""
    return QueueSpec(name=f"{service}.{topic}", service=service, bindings=bindings)


# The two work queues of the system. Producers declare their consumers' queues too, so that a
# mandatory publish finds its route even before the consumer has ever started.
PAYMENT_SVC_WEBHOOKS = _work_queue("payment-svc", "webhooks", (WEBHOOKS_EXCHANGE, "webhook.#"))
ORDER_SVC_PAYMENT_EVENTS = _work_queue("order-svc", "payment-events", (EVENTS_EXCHANGE, "payment.#"))
# order-svc tells payment-svc which orders it has marked paid, closing the loop the reconciler checks
PAYMENT_SVC_ORDER_EVENTS = _work_queue("payment-svc", "order-events", (ORDER_EVENTS_EXCHANGE, "order.#"))

# refunds: payment-svc sends each requested refund to the gateway from its own outbox (never inside the
# client's request), and order-svc keeps its refund views from the snapshots
PAYMENT_SVC_REFUND_REQUESTS = _work_queue("payment-svc", "refund-requests", (EVENTS_EXCHANGE, "refund.requested"))
ORDER_SVC_REFUND_EVENTS = _work_queue(
    "order-svc", "refund-events", (EVENTS_EXCHANGE, "refund.created"), (EVENTS_EXCHANGE, "refund.updated")
)
# order-svc's own outbox asks its mailer for the customer's email of a successful payment (order_svc/emails/service.py)
ORDER_SVC_EMAILS = _work_queue("order-svc", "emails", (ORDER_EVENTS_EXCHANGE, "email.#"))
# order-svc's outbox records each event a merchant's webhook endpoints are told of (`merchant.<event name>`);
# the merchant-webhooks process stores it and fans it out into one delivery per subscribed endpoint
MERCHANT_WEBHOOKS_EVENTS = _work_queue("merchant-webhooks", "events", (ORDER_EVENTS_EXCHANGE, "merchant.#"))

# every work queue, and so every dead-letter queue, of the system: what the operator tooling looks at
CONSUMER_QUEUES: tuple[QueueSpec, ...] = (
    PAYMENT_SVC_WEBHOOKS,
    ORDER_SVC_PAYMENT_EVENTS,
    PAYMENT_SVC_ORDER_EVENTS,
    PAYMENT_SVC_REFUND_REQUESTS,
    ORDER_SVC_REFUND_EVENTS,
    ORDER_SVC_EMAILS,
    MERCHANT_WEBHOOKS_EVENTS,
)
