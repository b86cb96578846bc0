"""The publisher against RabbitMQ: success means the broker confirmed a routed message."""

from __future__ import annotations

import pytest
from aio_pika import DeliveryMode
from aio_pika.abc import AbstractChannel

from payments_common.broker import Publisher, PublishError
from payments_common.topology import declare_exchanges

from .conftest import BrokerNames
from .helpers import drain, get_message


async def test_unroutable_publish_raises(publisher: Publisher, channel: AbstractChannel, names: BrokerNames) -> None:
    exchange = names.exchange()
    await declare_exchanges(channel, exchange)  # exists, nothing bound

    with pytest.raises(PublishError):
        await publisher.publish(exchange, "payment.succeeded", b"{}", message_id="evt_unroutable")


async def test_publish_to_a_bound_queue_succeeds(
    publisher: Publisher, channel: AbstractChannel, names: BrokerNames
) -> None:
    exchange = names.exchange()
    await declare_exchanges(channel, exchange)
    queue = await channel.declare_queue(names.queue(), durable=True)
    await queue.bind(exchange, routing_key="payment.#")

    await publisher.publish(
        exchange,
        "payment.succeeded",
        b'{"n": 1}',
        message_id="evt_routed",
        headers={"webhook-id": "wh_1"},
        correlation_id="corr-1",
        message_type="payment.succeeded",
    )

    message = await get_message(queue, within=3.0)
    assert message.body == b'{"n": 1}'
    assert message.message_id == "evt_routed"
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert message.content_type == "application/json"
    assert message.correlation_id == "corr-1"
    assert message.type == "payment.succeeded"
    assert (message.headers or {}).get("webhook-id") == "wh_1"
    assert await drain(queue) == []


async def test_publisher_recovers_after_a_publish_that_closed_its_channel(
    publisher: Publisher, channel: AbstractChannel, names: BrokerNames
) -> None:
    """Publishing to a missing exchange makes the broker close the channel; the next publish still works."""
    exchange = names.exchange()
    await declare_exchanges(channel, exchange)
    queue = await channel.declare_queue(names.queue(), durable=True)
    await queue.bind(exchange, routing_key="#")

    with pytest.raises(PublishError):
        await publisher.publish(names.exchange("missing"), "x", b"{}", message_id="evt_lost")
    await publisher.publish(exchange, "x", b"{}", message_id="evt_after")

    assert (await get_message(queue, within=3.0)).message_id == "evt_after"
