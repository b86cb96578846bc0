"""An event that can never apply changes nothing and waits in the dead-letter queue with its reason."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aio_pika
from conftest import System

DLQ = "payment-svc.webhooks.dlq"


async def _take_from_dlq(amqp_url: str, message_id: str, wait_seconds: float) -> dict[str, Any] | None:
    """Find our message in the DLQ and take it out; leave every other message where it was."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(DLQ, ensure=True)
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            others = []
            found = None
            while True:
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                if message.message_id == message_id:
                    found = message
                    break
                others.append(message)
            for other in others:
                await other.nack(requeue=True)
            if found is not None:
                headers = dict(found.headers or {})
                await found.ack()
                return headers
            await asyncio.sleep(0.3)
        return None
    finally:
        await connection.close()


def test_payment_of_another_order_is_dead_lettered_with_its_reason(system: System) -> None:
    order_a, payment_a = system.pending_payment()
    order_b, _ = system.pending_payment()
    event_id = f"evt_mismatch_{payment_a['paymentId']}"
    r = system.webhook({"orderId": order_b["orderId"]}, payment_a, "SUCCESS", event_id=event_id)
    assert r.status_code == 200  # signed correctly for order B, so accepted; the consumer refuses it

    headers = asyncio.run(_take_from_dlq(system.amqp_url, event_id, wait_seconds=15))
    assert headers is not None, "the event did not reach the dead-letter queue"
    assert headers["dead-letter-reason"] == "ORDER_MISMATCH"
    assert headers["dead-letter-origin-queue"] == "payment-svc.webhooks"
    assert headers["dead-letter-error-type"] == "PermanentError"
    assert system.get_order(order_a["orderId"])["status"] == "CREATED"
    assert system.get_order(order_b["orderId"])["status"] == "CREATED"
