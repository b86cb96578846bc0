"""The delivery worker: claims due deliveries and makes one attempt of each, concurrently, within bounds.

At most `per_endpoint` attempts are in flight per endpoint and `max_in_flight` in all, in this process. A
claim only takes as many of an endpoint's deliveries as it has free slots, so an endpoint that hangs holds
its own slots for the attempt timeout and nothing else: its other deliveries wait unclaimed in the table,
and every other endpoint's go on. Several processes share the work through the claim (`repository`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from dataclasses import dataclass

import asyncpg

from merchant_webhooks.deliveries.domain import RetryPolicy, is_success
from merchant_webhooks.deliveries.messages import endpoint_disabled
from merchant_webhooks.deliveries.repository import Claimed, DeliveryRepository
from merchant_webhooks.deliveries.signing import headers, signing_secrets
from merchant_webhooks.egress.client import Answer, EndpointClient
from merchant_webhooks.endpoints.repository import EndpointRepository
from payments_common import metrics
from payments_common.logging import get_logger
from payments_common.timeutil import utcnow
from payments_common.uow import UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    per_endpoint: int
    max_in_flight: int
    timeout_seconds: float
    poll_interval_seconds: float

    @property
    def lease_seconds(self) -> float:
        # well past an attempt's timeout: a claim lapses only when its worker is gone
        return self.timeout_seconds * 2 + 10


class DeliveryWorker:
    def __init__(self, pool: asyncpg.Pool, client: EndpointClient, policy: RetryPolicy, config: WorkerConfig) -> None:
        self._pool = pool
        self._client = client
        self._policy = policy
        self._config = config
        self._in_flight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="webhook-deliveries")

    def wake(self) -> None:
        """New deliveries were committed, or a slot freed: look for due work now rather than at the poll."""
        self._wakeup.set()

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        # attempts in flight are cut short: their claims lapse and another worker tries again
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                claimed = await self.claim_once()
            except Exception as exc:
                log.warning("webhook.claim_failed", error=type(exc).__name__)
                claimed = 0
            if claimed == 0 or sum(self._in_flight.values()) >= self._config.max_in_flight:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._config.poll_interval_seconds)

    async def claim_once(self) -> int:
        """Claim what is due and fits the free slots, and start an attempt of each; how many started."""
        free = self._config.max_in_flight - sum(self._in_flight.values())
        if free <= 0:
            return 0
        async with self._pool.acquire() as conn:
            claimed = await DeliveryRepository(conn).claim_due(
                {endpoint: n for endpoint, n in self._in_flight.items() if n > 0},
                per_endpoint=self._config.per_endpoint,
                limit=free,
                lease_seconds=self._config.lease_seconds,
                claim=uuid.uuid4(),
            )
        for delivery in claimed:
            self._in_flight[delivery.endpoint_id] += 1
            task = asyncio.create_task(self._attempt(delivery), name=f"webhook-attempt-{delivery.id}")
            self._tasks.add(task)
        return len(claimed)

    async def _attempt(self, delivery: Claimed) -> None:
        try:
            await attempt(self._pool, self._client, self._policy, delivery)
        except Exception as exc:
            # the claim lapses and the delivery is tried again: nothing is lost by a failure to record
            log.error("webhook.attempt_not_recorded", delivery_id=delivery.id, error=type(exc).__name__)
        finally:
            self._in_flight[delivery.endpoint_id] -= 1
            if self._in_flight[delivery.endpoint_id] <= 0:
                del self._in_flight[delivery.endpoint_id]
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            self._wakeup.set()


async def attempt(pool: asyncpg.Pool, client: EndpointClient, policy: RetryPolicy, delivery: Claimed) -> Answer:
    """One POST of a claimed delivery, and its result recorded in one transaction: the attempt in the log,
    the delivery delivered or due again (or given up), the endpoint's failing streak, and the endpoint
    disabled, with its merchant told through the outbox, once it has failed past the limit."""
    at = utcnow()
    signed = headers(
        delivery.event_id,
        int(at.timestamp()),
        delivery.body,
        signing_secrets(delivery.secret, delivery.previous_secret, delivery.previous_secret_expires_at, at),
    )
    answer = await client.post(delivery.url, delivery.body, signed)
    ok = answer.error is None and answer.status is not None and is_success(answer.status)
    now = utcnow()
    async with UnitOfWork(pool) as uow:
        deliveries, endpoints = uow.repo(DeliveryRepository), uow.repo(EndpointRepository)
        await deliveries.add_attempt(
            delivery.id, at, answer.status, round(answer.seconds * 1000), answer.error, answer.body
        )
        if ok:
            outcome = "delivered"
            await deliveries.delivered(delivery.id, delivery.claim)
            await endpoints.succeeded(delivery.endpoint_id)
        else:
            next_at = policy.next_attempt_at(delivery.failures + 1, delivery.series_started_at, now)
            outcome = "retrying" if next_at is not None else "failed"
            await deliveries.retry_or_give_up(delivery.id, delivery.claim, next_at)
            await endpoints.failed(delivery.endpoint_id, at, answer.error or "failed")
            disabled = await endpoints.disable_failing(delivery.endpoint_id, policy.failing_before(now))
            if disabled is not None:
                uow.emit(endpoint_disabled(disabled, now))
                log.warning("webhook.endpoint_disabled", endpoint_id=disabled.id, merchant_id=disabled.merchant_id)
    metrics.webhook_attempt(outcome, answer.seconds)
    log.info(
        "webhook.attempt",
        delivery_id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        outcome=outcome,
        status=answer.status,
        error=answer.error,
    )
    return answer
