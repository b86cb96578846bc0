"""Requeue and purge: the dead-letter actions that change the broker, on messages a scan holds.

Each acts on the messages `dead_letters.holding` keeps unacknowledged: it acknowledges only what it dealt
with (published to its origin queue and confirmed, or purged), and the rest go back when the scan's
channel closes. A requeue is published with confirms, then its dead-letter copy acknowledged; failing in
between leaves a copy in both queues, a duplicate the consumer's inbox absorbs, never a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict, Unpack

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from payment_svc.admin.dead_letters import PROGRESS_EVERY, Progress, held_letters, scope
from payments_common.broker import Publisher, PublishError
from payments_common.dlq import DeadLetter, QueueState, Selector, requeue_headers
from payments_common.logging import get_logger
from payments_common.timeutil import utcnow

log = get_logger(__name__)

# confirmed publishes in flight at once: about where the broker's confirm rate levels off (~3,500/s)
PUBLISH_CONCURRENCY = 100

Action = Literal["requeue", "purge"]
Status = Literal["requeued", "purged", "would_requeue", "would_purge", "failed"]


# ---------------------------------------------------------------------------------------------------
# Requeue and purge


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    queue: str
    origin_queue: str
    reason: str
    status: Status
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class OperationResult:
    action: Action
    dry_run: bool
    outcomes: list[Outcome]
    queues: list[QueueState]
    # ids asked for by name that no scanned queue held (already requeued, purged, or mistyped)
    missing_ids: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.missing_ids

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "dry_run": self.dry_run,
            "selected": len(self.outcomes),
            "succeeded": len(self.outcomes) - len(self.failed),
            "failed": len(self.failed),
            "missing_ids": self.missing_ids,
            "messages": [o.to_json() for o in self.outcomes],
            "queues": [q.to_json() for q in self.queues],
        }


def _outcome(letter: DeadLetter, status: Status, error: str | None = None) -> Outcome:
    return Outcome(letter.id, letter.queue, letter.origin_queue, letter.reason, status, error)


def _still_held(message: AbstractIncomingMessage) -> bool:
    try:
        return not message.channel.is_closed
    except aio_pika.exceptions.ChannelInvalidStateError:
        return False


async def _requeue_one(
    publisher: Publisher, message: AbstractIncomingMessage, letter: DeadLetter, slots: asyncio.Semaphore
) -> Outcome:
    async with slots:
        if not _still_held(message):
            # the broker has already handed it back to the dead-letter queue: publishing now would
            # only make a duplicate
            return _outcome(letter, "failed", "lost the dead-letter queue's channel; the message is still there")
        try:
            await publisher.publish(
                "",
                letter.origin_queue,
                letter.body,
                message_id=letter.id,
                headers=requeue_headers(letter, utcnow()),
                correlation_id=letter.correlation_id,
                content_type=letter.content_type or "application/json",
                message_type=letter.type,
            )
        except PublishError as exc:
            # not acknowledged, so it stays in the dead-letter queue
            return _outcome(letter, "failed", f"not requeued, still dead-lettered: {exc}")
        try:
            await message.ack()
        except Exception as exc:
            return _outcome(
                letter,
                "failed",
                f"requeued, but its dead-letter copy could not be removed ({type(exc).__name__}); "
                "requeueing it again is harmless",
            )
        return _outcome(letter, "requeued")


async def _purge_one(message: AbstractIncomingMessage, letter: DeadLetter) -> Outcome:
    try:
        await message.ack()
    except Exception as exc:
        return _outcome(letter, "failed", f"not purged, still dead-lettered ({type(exc).__name__}: {exc})")
    return _outcome(letter, "purged")


class Options(TypedDict, total=False):
    """How a requeue or purge runs: `dry_run` reports without changing anything; `queues` are the dead-letter
    queues to read (the system's by default); `progress` is told how far it is."""

    dry_run: bool
    queues: Sequence[str] | None
    progress: Progress | None


async def _operate(
    connection: AbstractRobustConnection,
    action: Action,
    selector: Selector,
    *,
    dry_run: bool = False,
    queues: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> OperationResult:
    states = await scope(connection, queues, selector)
    outcomes: list[Outcome] = []
    scanned: list[QueueState] = []
    seen_ids: set[str] = set()
    publisher = Publisher(connection) if action == "requeue" and not dry_run else None
    slots = asyncio.Semaphore(PUBLISH_CONCURRENCY)
    try:
        # one queue at a time, acted on while held: the unselected go back when its turn ends
        async with contextlib.aclosing(held_letters(connection, states, scanned, progress)) as held:
            async for state, found in held:
                seen_ids.update(letter.id for _, letter in found)
                chosen = [(message, letter) for message, letter in found if selector.matches(letter)]
                if dry_run:
                    would: Status = "would_requeue" if action == "requeue" else "would_purge"
                    outcomes += [_outcome(letter, would) for _, letter in chosen]
                elif publisher is not None:
                    outcomes += await _gather(
                        [_requeue_one(publisher, m, letter, slots) for m, letter in chosen],
                        f"requeue {state.queue}",
                        progress,
                    )
                else:
                    outcomes += await _gather(
                        [_purge_one(m, letter) for m, letter in chosen], f"purge {state.queue}", progress
                    )
    finally:
        if publisher is not None:
            await publisher.close()
    result = OperationResult(action, dry_run, outcomes, scanned, sorted(selector.ids - seen_ids))
    if not dry_run and result.outcomes:
        log.info(
            f"dead_letters.{action}",
            selected=len(result.outcomes),
            failed=len(result.failed),
            queues=[s.queue for s in scanned if s.scanned],
        )
    for failure in result.failed:
        log.warning(f"dead_letters.{action}_failed", message_id=failure.id, queue=failure.queue, error=failure.error)
    return result


async def _gather(jobs: list[Awaitable[Outcome]], step: str, progress: Progress | None) -> list[Outcome]:
    """Run the per-message jobs concurrently, reporting progress as they finish, results in order."""
    total = len(jobs)
    done = 0

    async def tracked(job: Awaitable[Outcome]) -> Outcome:
        nonlocal done
        outcome = await job
        done += 1
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
            progress(step, done, total)
        return outcome

    return list(await asyncio.gather(*(tracked(job) for job in jobs)))


async def requeue(
    connection: AbstractRobustConnection, selector: Selector, **options: Unpack[Options]
) -> OperationResult:
    """Publish each selected dead letter back to its origin queue, then remove it from the DLQ.

    The copy gets `requeue-count` + 1, `requeued-at`, `retry-attempt` 0 and the old reason as
    `last-dead-letter-reason`, without the `dead-letter-*` headers. Safe for events already applied:
    the consumer's inbox makes them a no-op. A message whose publish is not confirmed stays put and
    is reported as failed. A dry run only reports what it would requeue.
    """
    return await _operate(connection, "requeue", selector, **options)


async def purge(
    connection: AbstractRobustConnection, selector: Selector, **options: Unpack[Options]
) -> OperationResult:
    """Drop the selected dead letters for good; the others stay.

    Not a queue purge: that would also drop what arrived after the operator looked.
    """
    return await _operate(connection, "purge", selector, **options)
