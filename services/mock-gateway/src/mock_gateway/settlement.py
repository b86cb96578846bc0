"""Settling a gateway payment a moment after it was created, and telling the merchant by webhook."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from mock_gateway.delivery import WebhookSender
from mock_gateway.outcomes import DECLINE_ERROR_CODE, DECLINE_ERROR_DESCRIPTION, Outcome, outcome_for
from mock_gateway.store import GatewayPayment
from payments_common import ids
from payments_common.logging import bound, get_logger

log = get_logger(__name__)


def webhook_body(payment: GatewayPayment, outcome: Outcome) -> dict[str, Any]:
    body: dict[str, Any] = {
        "orderId": payment.order_id,
        "paymentId": payment.payment_id,
        "gatewayPaymentId": payment.id,
        "signature": payment.signature,
        "status": outcome.value,
        "amount": payment.amount,
        "currency": payment.currency,
    }
    if payment.method is not None:
        body["method"] = payment.method
    if outcome is Outcome.FAILED:
        body["errorCode"] = DECLINE_ERROR_CODE
        body["errorDescription"] = DECLINE_ERROR_DESCRIPTION
    return body


class Settlement:
    """Runs one background task per payment; `close` cancels what is still in flight."""

    def __init__(self, sender: WebhookSender, delay_seconds: float) -> None:
        self._sender = sender
        self._delay_seconds = delay_seconds
        # the loop keeps only weak references to tasks: without this set they could vanish mid-delivery
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, payment: GatewayPayment, correlation_id: str | None = None) -> Outcome:
        outcome = outcome_for(payment.method)
        if not outcome.sends_webhook:
            log.info("settlement.left_pending", gateway_payment_id=payment.id, payment_id=payment.payment_id)
            return outcome
        task = asyncio.create_task(self._settle(payment, outcome, correlation_id), name=f"settle-{payment.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return outcome

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def _settle(self, payment: GatewayPayment, outcome: Outcome, correlation_id: str | None) -> None:
        # one event id for every retry of this delivery, so the receiver can deduplicate them
        event_id = ids.new_id(ids.EVENT)
        with bound(
            event_id=event_id,
            order_id=payment.order_id,
            payment_id=payment.payment_id,
            gateway_payment_id=payment.id,
            correlation_id=correlation_id,
        ):
            try:
                await asyncio.sleep(self._delay_seconds)
                payment.status = outcome.gateway_status
                log.info("settlement.settled", status=outcome.value)
                body = orjson.dumps(webhook_body(payment, outcome))
                await self._sender.deliver(event_id, body, correlation_id)
            except Exception:
                # nobody awaits this task: an error not logged here would be lost
                log.exception("settlement.crashed")

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
