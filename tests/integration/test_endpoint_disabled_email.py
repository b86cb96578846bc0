"""The merchant's alert when merchant-webhooks disables one of its endpoints: through order-svc's real
emails consumer row (the message type picks the handler), against the real PostgreSQL, RabbitMQ and the
stack's mail catcher. One email per disabling, whatever copies arrive; none without an alert email."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from pydantic import SecretStr

from order_svc.app import consumers
from order_svc.deps import Deps
from order_svc.emails.domain import alert_message_id
from order_svc.emails.service import MailerDeps
from order_svc.merchants import service as merchants
from order_svc.settings import DEFAULT_SMTP_FROM, Settings
from payments_common import ids, topology
from payments_common.broker import Publisher
from payments_common.consumer import Consumer
from payments_common.events import WEBHOOK_ENDPOINT_DISABLED_TYPE, WebhookEndpointDisabled
from payments_common.timeutil import utcnow
from payments_common.topology import QueueSpec

from .conftest import BrokerNames, migrated_schema
from .helpers import drain, eventually
from .test_payment_email import SmtpServer

pytestmark = pytest.mark.integration


@pytest.fixture
async def order_pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "payments_common", "order_svc", size=8) as (_, pool):
        yield pool


@pytest.fixture
async def smtp(tmp_path: Path) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(tmp_path / "mail")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def spec(names: BrokerNames) -> QueueSpec:
    return names.spec(routing_key="email.#", retry_delays_ms=(100, 200), suffix="emails")


@contextlib.asynccontextmanager
async def emails_consumer(
    connection: AbstractRobustConnection, spec: QueueSpec, publisher: Publisher, mailer: MailerDeps
) -> AsyncIterator[None]:
    """The handler of order-svc's own consumer table for its emails queue, on the test's queue."""
    settings = Settings(
        API_KEYS=SecretStr("rzp_test_alerts:alerts-secret-0123456789"),
        PAYMENT_SIGNING_SECRET=SecretStr("ab" * 32),
        INTERNAL_API_TOKEN=SecretStr("internal-token-0123456789abcdef"),
    )
    deps = Deps(pool=mailer.pool, payments=None)  # type: ignore[arg-type]
    [row] = [row for row in consumers(deps, mailer, settings) if row.spec == topology.ORDER_SVC_EMAILS]
    consumer = Consumer(connection, spec, row.handler, publisher, prefetch=1)
    await consumer.start()
    try:
        yield
    finally:
        await consumer.stop()


def disabled(merchant_id: str) -> WebhookEndpointDisabled:
    now = utcnow()
    return WebhookEndpointDisabled(
        id=f"whdis_{ids.new_uuid().hex}",
        merchant_id=merchant_id,
        endpoint_id=f"whep_{ids.new_uuid().hex[:14]}",
        url="https://merchant.example/hooks",
        failing_since=now - timedelta(hours=25),
        disabled_at=now,
        last_error="HTTP 503",
    )


async def publish(publisher: Publisher, spec: QueueSpec, event: WebhookEndpointDisabled, message_id: str) -> None:
    await publisher.publish(
        spec.bindings[0][0],
        WEBHOOK_ENDPOINT_DISABLED_TYPE,
        event.model_dump_json().encode(),
        message_id=message_id,
        message_type=WEBHOOK_ENDPOINT_DISABLED_TYPE,
    )


async def test_one_alert_per_disabling_to_the_merchant_s_address_and_none_without_one(
    order_pool: asyncpg.Pool,
    amqp_connection: AbstractRobustConnection,
    publisher: Publisher,
    spec: QueueSpec,
    smtp: SmtpServer,
) -> None:
    address = f"alerts-{ids.new_uuid().hex}@acme.example"
    with_email = await merchants.create_merchant(order_pool, "Acme Ltd", address)
    without = await merchants.create_merchant(order_pool, "Quiet Ltd", None)
    event, silent = disabled(with_email.id), disabled(without.id)
    mailer = MailerDeps(pool=order_pool, smtp=smtp.sender(), sender=DEFAULT_SMTP_FROM)
    async with emails_consumer(amqp_connection, spec, publisher, mailer):
        # the same disabling published three times, under message ids of its publisher's choosing
        for n in range(3):
            await publish(publisher, spec, event, f"msg-{n}-{event.id}")
        await publish(publisher, spec, silent, f"msg-{silent.id}")
        claimed = "SELECT count(*) FROM inbox WHERE consumer = 'order-svc.alert-emails' AND message_id = $1"

        async def both_handled() -> bool:
            return bool(
                await order_pool.fetchval(claimed, event.id) == 1 and await order_pool.fetchval(claimed, silent.id)
            )

        await eventually(both_handled, 10, "both alerts handled")
        # a later message through the same queue (prefetch 1, in order): every copy before it is handled
        await publish(publisher, spec, disabled(with_email.id), "msg-last")
        await eventually(lambda: len(smtp.received()) == 2, 10, "the last alert sent")

    alerts = smtp.received(address)
    assert len(alerts) == 2 and len(smtp.received()) == 2, "one per disabling; none for the merchant without"
    first = next(message for message in alerts if event.endpoint_id in str(message["Subject"]))
    assert first["Message-ID"] == alert_message_id(event.id, DEFAULT_SMTP_FROM)
    text = first.get_content()
    assert event.url in text and "HTTP 503" in text and "Acme Ltd" in text
    async with amqp_connection.channel() as channel:
        assert await drain(await channel.get_queue(spec.dlq)) == [], "nothing dead-lettered"
