"""The customer's email on a successful payment, against the real PostgreSQL, RabbitMQ and an SMTP server
(aiosmtpd, the stack's mail catcher) on a free port: one email per payment, whatever is redelivered, and
retried until the SMTP server takes it.

The email events are taken from order-svc's outbox, as the relay would, and published to a queue of this
test's own (the real `orders.events` exchange may have the system's queues bound to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from aio_pika.abc import AbstractRobustConnection

from order_svc.deps import Deps
from order_svc.emails.messages import PAYMENT_SUCCEEDED_EMAIL, PaymentEmailRequested
from order_svc.emails.service import MailerDeps, send_payment_email
from order_svc.emails.smtp import SmtpConfig, SmtpSender
from order_svc.orders.schemas import CreateOrder
from order_svc.orders.service import create_order
from order_svc.payments.service import apply_payment_event
from order_svc.settings import DEFAULT_SMTP_FROM
from payments_common import events, ids
from payments_common.broker import Publisher
from payments_common.consumer import Consumer, handler
from payments_common.timeutil import utcnow
from payments_common.topology import QueueSpec
from payments_tools import mail_catcher

from .conftest import BrokerNames, migrated_schema
from .helpers import drain, eventually

pytestmark = pytest.mark.integration

MERCHANT = "m_email"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """The stack's mail catcher on a port of its own; stopped and started again to play an outage."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await mail_catcher.start(self.directory, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def sender(self) -> SmtpSender:
        return SmtpSender(SmtpConfig(host="127.0.0.1", port=self.port, implicit_tls=False), timeout_seconds=5)

    def received(self, address: str | None = None) -> list[EmailMessage]:
        found = []
        for path in sorted(self.directory.glob("*.eml")):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            assert isinstance(message, EmailMessage)
            if address is None or str(message["X-RcptTo"]) == address:
                found.append(message)
        return found


@pytest.fixture
async def order_pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "payments_common", "order_svc", size=8) as (_, pool):
        yield pool


@pytest.fixture
async def smtp(tmp_path: Path) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(tmp_path / "mail")
    yield server
    await server.stop()


@pytest.fixture
def spec(names: BrokerNames) -> QueueSpec:
    return names.spec(routing_key="email.#", retry_delays_ms=(100, 200, 400, 800, 5_000), suffix="emails")


@contextlib.asynccontextmanager
async def mailer(
    connection: AbstractRobustConnection,
    spec: QueueSpec,
    publisher: Publisher,
    deps: MailerDeps,
    prefetch: int = 1,
) -> AsyncIterator[Consumer]:
    """order-svc's mailer on the test's queue; with a prefetch of 1 it takes messages one at a time, in order."""
    consumer = Consumer(
        connection, spec, handler(PaymentEmailRequested, send_payment_email(deps)), publisher, prefetch=prefetch
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


def snapshot(
    order_id: str, payment_id: str, status: str = "SUCCESS", version: int = 3, method: dict[str, Any] | None = None
) -> events.PaymentSnapshot:
    now = utcnow()
    return events.PaymentSnapshot(
        id=payment_id,
        orderId=order_id,
        merchantId=MERCHANT,
        amount=1500,
        currency="INR",
        status=status,  # type: ignore[arg-type]
        gatewayPaymentId=ids.new_id(ids.GATEWAY_PAYMENT),
        signature="ab" * 32,
        method=method,
        version=version,
        createdAt=now,
        updatedAt=now,
    )


async def paid_order(
    pool: asyncpg.Pool, address: str | None, message_id: str | None = None, method: dict[str, Any] | None = None
) -> tuple[str, str]:
    """An order (with this customer address, if any) whose SUCCESS order-svc has applied; (order, payment)."""
    deps = Deps(pool=pool, payments=None)  # type: ignore[arg-type]
    customer = {"email": address, "name": "Asha <Rao>"} if address else None
    order = await create_order(
        deps, MERCHANT, CreateOrder.model_validate({"amount": 1500, "currency": "INR", "customer": customer})
    )
    payment_id = ids.new_id(ids.PAYMENT)
    success = events.PaymentEvent(type="payment.succeeded", payment=snapshot(order.id, payment_id, method=method))
    await apply_payment_event(deps, message_id or f"msg_{ids.new_uuid()}", success)
    return order.id, payment_id


async def email_events(pool: asyncpg.Pool, order_id: str) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT id, exchange, routing_key, payload FROM outbox WHERE aggregate_id = $1 AND event_type = $2",
            order_id,
            PAYMENT_SUCCEEDED_EMAIL,
        )
    )


async def relay(publisher: Publisher, spec: QueueSpec, row: asyncpg.Record, times: int = 1) -> None:
    """Publish an outbox row as the relay does (the row id is the message id), to the test's queue."""
    exchange = spec.bindings[0][0]
    for _ in range(times):
        await publisher.publish(
            exchange,
            row["routing_key"],
            orjson.dumps(row["payload"]),
            message_id=str(row["id"]),
            message_type=PAYMENT_SUCCEEDED_EMAIL,
        )


async def email_row(pool: asyncpg.Pool, payment_id: str) -> dict[str, Any]:
    row = await pool.fetchrow("SELECT * FROM payment_emails WHERE payment_id = $1", payment_id)
    assert row is not None
    return dict(row)


async def status_of(pool: asyncpg.Pool, payment_id: str) -> str:
    return str((await email_row(pool, payment_id))["status"])


def sent(pool: asyncpg.Pool, payment_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await status_of(pool, payment_id) == "SENT"

    return check


async def test_a_paid_order_is_emailed_once_however_often_its_message_is_delivered(
    order_pool: asyncpg.Pool,
    amqp_connection: AbstractRobustConnection,
    publisher: Publisher,
    spec: QueueSpec,
    smtp: SmtpServer,
) -> None:
    await smtp.start()
    address = f"buyer-{ids.new_uuid().hex}@example.com"
    # a snapshot with a whole card in it, which payment-svc never sends: the email event keeps its summary only
    card = {"type": "card", "number": "4111 1111 1111 1111", "cvv": "123", "expiryMonth": 12, "expiryYear": 2030}
    order_id, payment_id = await paid_order(order_pool, address, method=card)
    [event] = await email_events(order_pool, order_id)
    assert event["exchange"] == "orders.events" and event["routing_key"] == PAYMENT_SUCCEEDED_EMAIL
    payload = orjson.dumps(event["payload"]).decode()
    assert address not in payload, "the address stays in the database"
    assert "4111" not in payload and "cvv" not in payload and event["payload"]["method"]["last4"] == "1111"

    deps = MailerDeps(pool=order_pool, smtp=smtp.sender(), sender=DEFAULT_SMTP_FROM)
    async with mailer(amqp_connection, spec, publisher, deps):
        await relay(publisher, spec, event, times=3)  # the broker delivers at least once
        # taken one at a time in order: once this later payment's email is out, the copies were all handled
        later_order, later_payment = await paid_order(order_pool, f"later-{ids.new_uuid().hex}@example.com")
        [later] = await email_events(order_pool, later_order)
        await relay(publisher, spec, later)
        await eventually(sent(order_pool, later_payment), 10, "the later email sent")

    row = await email_row(order_pool, payment_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("SENT", 1, None)
    [message] = smtp.received(address)
    assert message["Message-ID"] == row["message_id"] == f"<paid.{payment_id}@payments.local>"
    assert message["To"].addresses[0].display_name == "Asha <Rao>"
    body = message.get_body(preferencelist=("html",))
    assert body is not None and "Asha &lt;Rao&gt;" in body.get_content()
    assert "Visa card ending 1111, expires 12/2030" in body.get_content()


async def test_a_success_heard_again_asks_for_no_second_email(order_pool: asyncpg.Pool) -> None:
    order_id, payment_id = await paid_order(order_pool, "again@example.com", message_id="msg_first")
    deps = Deps(pool=order_pool, payments=None)  # type: ignore[arg-type]
    success = events.PaymentEvent(type="payment.succeeded", payment=snapshot(order_id, payment_id, version=4))
    # redelivered under its id, republished by payment-svc's reconciler under a new one, twice at once
    await apply_payment_event(deps, "msg_first", success)
    await asyncio.gather(*(apply_payment_event(deps, f"msg_again_{n}", success) for n in range(3)))
    assert len(await email_events(order_pool, order_id)) == 1
    assert await order_pool.fetchval("SELECT count(*) FROM payment_emails WHERE order_id = $1", order_id) == 1
    # the order was told paid every time (payment-svc waits for that), the email asked for once
    paid = await order_pool.fetchval(
        "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND event_type = 'order.paid'", order_id
    )
    assert paid == 4


async def test_two_messages_for_one_payment_send_one_email(
    order_pool: asyncpg.Pool,
    amqp_connection: AbstractRobustConnection,
    publisher: Publisher,
    spec: QueueSpec,
    smtp: SmtpServer,
) -> None:
    """Even under different message ids (which the outbox never makes, but an operator's copy could), taken
    at the same moment by two handlers: the row lock makes the second wait and then find it SENT."""
    await smtp.start()
    address = f"twice-{ids.new_uuid().hex}@example.com"
    order_id, payment_id = await paid_order(order_pool, address)
    [event] = await email_events(order_pool, order_id)
    copy = {**dict(event), "id": ids.new_uuid()}
    deps = MailerDeps(pool=order_pool, smtp=smtp.sender(), sender=DEFAULT_SMTP_FROM)
    async with mailer(amqp_connection, spec, publisher, deps, prefetch=2):
        await relay(publisher, spec, event)
        await relay(publisher, spec, copy)  # type: ignore[arg-type]
        await eventually(sent(order_pool, payment_id), 10, "the email sent")

        async def both_claimed() -> bool:
            claims = await order_pool.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer = 'order-svc.emails' AND message_id = ANY($1::text[])",
                [str(event["id"]), str(copy["id"])],
            )
            return bool(claims == 2)

        await eventually(both_claimed, 10, "both messages handled")
    assert len(smtp.received(address)) == 1
    assert (await email_row(order_pool, payment_id))["attempts"] == 1


async def test_an_smtp_outage_is_retried_until_the_server_takes_the_email(
    order_pool: asyncpg.Pool,
    amqp_connection: AbstractRobustConnection,
    publisher: Publisher,
    spec: QueueSpec,
    smtp: SmtpServer,
) -> None:
    address = f"outage-{ids.new_uuid().hex}@example.com"
    order_id, payment_id = await paid_order(order_pool, address)
    [event] = await email_events(order_pool, order_id)
    deps = MailerDeps(pool=order_pool, smtp=smtp.sender(), sender=DEFAULT_SMTP_FROM)  # nothing listens yet
    async with mailer(amqp_connection, spec, publisher, deps):
        await relay(publisher, spec, event)

        async def failed_twice() -> bool:
            return bool((await email_row(order_pool, payment_id))["attempts"] >= 2)

        await eventually(failed_twice, 10, "two failed sends counted")
        pending = await email_row(order_pool, payment_id)
        assert pending["status"] == "PENDING" and "SMTPConnectError" in pending["last_error"]
        assert smtp.received() == []
        await smtp.start()
        await eventually(sent(order_pool, payment_id), 15, "the email sent once the server is back")

    row = await email_row(order_pool, payment_id)
    assert row["status"] == "SENT" and row["last_error"] is None and row["attempts"] >= 3
    assert len(smtp.received(address)) == 1


async def test_an_email_the_server_never_takes_ends_in_the_dead_letter_queue(
    order_pool: asyncpg.Pool,
    amqp_connection: AbstractRobustConnection,
    publisher: Publisher,
    names: BrokerNames,
    smtp: SmtpServer,
) -> None:
    spec = names.spec(routing_key="email.#", retry_delays_ms=(50, 100), suffix="emails")
    order_id, payment_id = await paid_order(order_pool, "never@example.com")
    [event] = await email_events(order_pool, order_id)
    deps = MailerDeps(pool=order_pool, smtp=smtp.sender(), sender=DEFAULT_SMTP_FROM)
    channel = await amqp_connection.channel()
    try:
        async with mailer(amqp_connection, spec, publisher, deps):
            await relay(publisher, spec, event)
            dlq = await channel.declare_queue(spec.dlq, passive=True)
            letters: list[Any] = []

            async def dead_lettered() -> bool:
                letters.extend(await drain(dlq))
                return bool(letters)

            await eventually(dead_lettered, 10, "the message dead-lettered")
    finally:
        await channel.close()
    [letter] = letters
    assert letter.message_id == str(event["id"])
    assert letter.headers["dead-letter-reason"] == "RETRIES_EXHAUSTED:SMTP_FAILED"
    row = await email_row(order_pool, payment_id)
    # still PENDING: an operator's requeue, once the server is fixed, sends it
    assert (row["status"], row["attempts"]) == ("PENDING", 3)


async def test_without_an_smtp_server_the_email_is_skipped_and_says_so(
    order_pool: asyncpg.Pool,
    amqp_connection: AbstractRobustConnection,
    publisher: Publisher,
    spec: QueueSpec,
) -> None:
    order_id, payment_id = await paid_order(order_pool, "nobody-sends@example.com")
    [event] = await email_events(order_pool, order_id)
    async with mailer(amqp_connection, spec, publisher, MailerDeps(order_pool, None, DEFAULT_SMTP_FROM)):
        await relay(publisher, spec, event)

        async def skipped() -> bool:
            return await status_of(order_pool, payment_id) == "SKIPPED"

        await eventually(skipped, 10, "the email marked SKIPPED")
    row = await email_row(order_pool, payment_id)
    assert row["message_id"] is None and row["sent_at"] is None and "no SMTP server" in row["last_error"]


async def test_an_order_without_a_customer_asks_for_no_email(order_pool: asyncpg.Pool) -> None:
    order_id, payment_id = await paid_order(order_pool, None)
    assert await order_pool.fetchval("SELECT status FROM orders WHERE id = $1", order_id) == "PAID"
    assert await email_events(order_pool, order_id) == []
    assert await order_pool.fetchval("SELECT count(*) FROM payment_emails WHERE payment_id = $1", payment_id) == 0
