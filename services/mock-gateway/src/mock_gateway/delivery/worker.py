"""The delivery worker: sends every planned webhook once it falls due, and survives restarts.

Rows are the source of truth. The worker claims due `pending` rows, sends each (its copies
concurrently) with the sender's retries, and marks it `delivered`, `refused` or `gave_up` only when
that is known; a row whose send was cut short (shutdown, kill -9) is still `pending` and is sent
again at the next start. That is at-least-once: the receiver deduplicates on the event id.

Within a process, an in-flight set keeps a row from being sent twice at once (the claim's row lock
ends with its short transaction). It is per process: run one mock gateway per database.
"""

from __future__ import annotations

import asyncio
import functools

import asyncpg

from mock_gateway.delivery import repository
from mock_gateway.delivery.repository import DueDelivery
from mock_gateway.delivery.sender import DeliveryResult, WebhookSender
from payments_common.logging import bound, get_logger
from payments_common.waiting import wait_set

log = get_logger(__name__)

# a row whose send crashed (say, the database went away mid-try) waits this long before another go,
# so a persistent failure does not spin
CRASH_COOLDOWN_SECONDS = 1.0
# while the database is unreachable, claims back off up to this, rather than failing every poll
MAX_CLAIM_BACKOFF_SECONDS = 2.0


class DeliveryWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: WebhookSender,
        *,
        retry_window_seconds: float,
        concurrency: int = 64,
        poll_interval: float = 0.1,
    ) -> None:
        self._pool = pool
        self._sender = sender
        self._retry_window_seconds = retry_window_seconds
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._wakeup = asyncio.Event()
        self._in_flight: set[str] = set()
        # the loop keeps only weak references to tasks: without this set they could vanish mid-send
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="delivery-worker")

    def poke(self) -> None:
        """Something may be due sooner than the next poll: a payment was created, a slot freed up."""
        self._wakeup.set()

    @property
    def in_flight(self) -> int:
        """Sends running now."""
        return len(self._tasks)

    async def close(self) -> None:
        """Cancel the loop and every send; cancelled rows stay `pending` for the next start."""
        tasks = [*self._tasks, *([self._loop_task] if self._loop_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop_task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            # cleared before the claim: a poke during it must wake the next round, not be lost
            self._wakeup.clear()
            wait = self._poll_interval
            free = self._concurrency - len(self._in_flight)
            if free > 0:
                try:
                    claim = await repository.claim_due(
                        self._pool,
                        exclude=sorted(self._in_flight),
                        limit=free,
                        retry_window_seconds=self._retry_window_seconds,
                    )
                except Exception as exc:
                    # anything at all (a database restart can leave a pooled connection mid-operation and
                    # asyncpg then raises InternalClientError): a loop that dies stops every delivery
                    failures += 1
                    backoff = min(self._poll_interval * 2 ** min(failures, 16), MAX_CLAIM_BACKOFF_SECONDS)
                    log.warning("delivery.claim_failed", error=f"{type(exc).__name__}: {exc}", retry_in=backoff)
                    await asyncio.sleep(backoff)
                    continue
                if failures:
                    log.info("delivery.claim_recovered", failed_claims=failures)
                    failures = 0
                for delivery in claim.deliveries:
                    self._spawn(delivery)
                if len(claim.deliveries) == free:
                    continue  # there may be more due right now
                if claim.next_due_in_seconds is not None:
                    wait = min(wait, max(claim.next_due_in_seconds, 0.0))
            # not asyncio.wait_for, which can swallow close()'s cancellation when woken at that moment
            await wait_set(self._wakeup, wait)

    def _spawn(self, delivery: DueDelivery) -> None:
        self._in_flight.add(delivery.event_id)
        task = asyncio.create_task(self._send(delivery), name=f"deliver-{delivery.event_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, delivery: DueDelivery) -> None:
        release = True
        with bound(
            event_id=delivery.event_id,
            payment_id=delivery.payment_id,
            gateway_payment_id=delivery.gateway_payment_id,
            correlation_id=delivery.correlation_id,
        ):
            try:
                state = await self._deliver_copies(delivery)
                if state is None:
                    release = False
                else:
                    await repository.finish(self._pool, delivery.event_id, state.value)
                    log.info("delivery.finished", state=state.value)
            except Exception:
                # nobody awaits this task: an error not logged here would be lost
                log.exception("delivery.crashed")
                release = False
            finally:
                if release:
                    self._in_flight.discard(delivery.event_id)
                else:
                    asyncio.get_running_loop().call_later(
                        CRASH_COOLDOWN_SECONDS, self._in_flight.discard, delivery.event_id
                    )
                self.poke()

    async def _deliver_copies(self, delivery: DueDelivery) -> DeliveryResult | None:
        """The row's end state, from all its copies; None when no copy reached an answer."""
        record = functools.partial(repository.record_try, self._pool, delivery.event_id)
        results = await asyncio.gather(
            *(
                self._sender.deliver(
                    delivery.event_id,
                    delivery.body,
                    window_seconds=delivery.window_left_seconds,
                    record=record,
                    correlation_id=delivery.correlation_id,
                    path=delivery.path,
                )
                for _ in range(delivery.copies)
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
        outcomes = [result for result in results if isinstance(result, DeliveryResult)]
        # one accepted copy is a delivered event: the receiver deduplicates the others
        if DeliveryResult.DELIVERED in outcomes:
            return DeliveryResult.DELIVERED
        if len(outcomes) < len(results):
            error = next(result for result in results if isinstance(result, Exception))
            log.error("delivery.copy_crashed", error=f"{type(error).__name__}: {error}")
            return None  # the row is tried again, rather than ended on a partial answer
        return DeliveryResult.REFUSED if DeliveryResult.REFUSED in outcomes else DeliveryResult.GAVE_UP
