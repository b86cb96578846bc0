"""Operator actions on the broker's dead-letter queues: list, show, requeue to the origin queue, purge.

What a dead letter says about itself is read by `payments_common.dlq` (pure); this module is the part
that talks to RabbitMQ, run in-process by the admin API and by the `payments-admin` console alike.

A queue cannot be read without taking messages off it, so every action works the same way: one
channel consumes the dead-letter queue without acknowledging anything, holding each message it
receives; the action then acknowledges only what it dealt with (published to its origin queue and
confirmed, or purged), and closing the channel hands every other message back to the broker. A
crash, a dropped connection or an exception at any point therefore returns messages; nothing is
removed from a dead-letter queue that was not first confirmed elsewhere or explicitly purged.

Concurrency:
- Two operators at once: a message held by one scan is not delivered to another, so the broker's
  delivery is the lock. The other scan simply does not see the held messages until they are handed
  back; it reports what it saw, and its counts are the broker's *ready* counts, which leave out
  messages someone is holding. AMQP does not confirm an acknowledgement, though: under heavy load
  RabbitMQ's quorum queues were seen to hand back a message acknowledged just before its channel
  closed, and the other scan then requeues it again. A scan therefore makes one round trip on its
  channel after acting and before closing it, which narrows that window, and a repeat is what it
  is everywhere else in the system: a second copy under the same message id, which the inbox absorbs.
- A consumer dead-lettering meanwhile: a scan takes at most the number of messages the queue held
  when it started, so it ends even while new ones keep arriving, and it stops consuming before it
  acts, so a requeued message that fails again and comes straight back is not picked up and
  requeued a second time by the same run.
- A requeue is published with confirms, then its dead-letter copy acknowledged. Failing in between
  leaves a copy in both queues: a duplicate, which the consumer's inbox absorbs, never a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence

from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from payments_common.broker import queue_count
from payments_common.dlq import (
    SYSTEM_DEAD_LETTER_QUEUES,
    DeadLetter,
    Listing,
    QueueState,
    Selector,
    UnknownQueueError,
    dead_letter_queue,
    origin_of,
)
from payments_common.logging import get_logger
from payments_common.timeutil import utcnow
from payments_common.waiting import wait_set

log = get_logger(__name__)

# Everything a scan holds is unacknowledged at once, and a consumer's prefetch is what lets the broker
# push that many: it is sized to the number of messages the scan means to hold (a prefetch in the tens
# would stall the scan after the first few dozen). prefetch_count is a 16-bit field, hence the cap.
MAX_SCAN = 65_535
# a scan that receives nothing for this long has seen all it can: the rest is held by someone else
IDLE_SECONDS = 1.0
PROGRESS_EVERY = 500

Progress = Callable[[str, int, int], None]
"""Called as `progress(step, done, total)` every `PROGRESS_EVERY` messages and when a step ends."""


# ---------------------------------------------------------------------------------------------------
# Reading a dead-letter queue


async def scope(
    connection: AbstractRobustConnection, queues: Sequence[str] | None, selector: Selector | None
) -> list[QueueState]:
    """The dead-letter queues an action reads, checked before anything is touched."""
    scope = tuple(dict.fromkeys(dead_letter_queue(q) for q in queues)) if queues else SYSTEM_DEAD_LETTER_QUEUES
    if selector is not None and selector.queue:
        scope = (dead_letter_queue(selector.queue),)
    states = []
    for name in scope:
        counted = await queue_count(connection, name)
        count = None if counted is None else counted.messages
        if count is None and name not in SYSTEM_DEAD_LETTER_QUEUES:
            raise UnknownQueueError(
                f"no dead-letter queue {name!r} on the broker; the system's are {', '.join(SYSTEM_DEAD_LETTER_QUEUES)}"
            )
        # one of the system's queues that was never declared (its service never ran) is just empty
        states.append(QueueState(name, origin_of(name), exists=count is not None, messages=count or 0))
    return states


@contextlib.asynccontextmanager
async def holding(
    connection: AbstractRobustConnection, queue: str, target: int, progress: Progress | None
) -> AsyncIterator[list[AbstractIncomingMessage]]:
    """Up to `target` messages of `queue`, held unacknowledged until the block ends.

    Whatever the block does not acknowledge goes back to the queue when the channel closes, also
    when the block raises, and the broker returns them itself if this process dies.
    """
    channel = await connection.channel()
    try:
        await channel.set_qos(prefetch_count=target)
        source = await channel.declare_queue(queue, passive=True, robust=False)
        received: list[AbstractIncomingMessage] = []
        enough = asyncio.Event()
        step = f"scan {queue}"

        async def take(message: AbstractIncomingMessage) -> None:
            received.append(message)
            if progress is not None and len(received) % PROGRESS_EVERY == 0 and len(received) < target:
                progress(step, len(received), target)
            if len(received) >= target:
                enough.set()

        # robust=False: after a reconnect the robust channel would re-subscribe and deliver the same
        # messages again; here a lost channel must end the scan, with the broker returning them all
        tag = await source.consume(take, robust=False)
        while not enough.is_set():
            seen = len(received)
            await wait_set(enough, IDLE_SECONDS)
            if len(received) == seen:
                break
        # stop deliveries before acting: what arrives from now on is not this scan's business
        await source.cancel(tag)
        held = received[:target]
        if progress is not None:
            progress(step, len(held), target)
        yield held
        # a synchronous round trip after the block's acknowledgements: the broker has read them all
        # before the channel closes and hands back what was not acknowledged (see the module's notes)
        with contextlib.suppress(Exception):
            await channel.set_qos(prefetch_count=target)
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


def scan_size(state: QueueState, remaining: int | None) -> int:
    size = min(state.messages, MAX_SCAN)
    return size if remaining is None else min(size, remaining)


async def held_letters(
    connection: AbstractRobustConnection,
    states: Sequence[QueueState],
    scanned: list[QueueState],
    progress: Progress | None,
    limit: int | None = None,
) -> AsyncGenerator[tuple[QueueState, list[tuple[AbstractIncomingMessage, DeadLetter]]], None]:
    """Each queue of `states` in turn, with its messages (at most `limit` in all), held while the loop's
    body runs (`holding`), each beside the dead letter it is. `scanned` gets every queue's state, with how
    many messages were read of it. Run it in `contextlib.aclosing`, so that an error in the loop's body
    gives the held messages back at once."""
    remaining = limit
    for state in states:
        size = scan_size(state, remaining)
        if size <= 0:
            scanned.append(state)
            continue
        async with holding(connection, state.queue, size, progress) as held:
            now = utcnow()
            yield state, [(message, DeadLetter.from_message(message, state.queue, now)) for message in held]
        scanned.append(QueueState(state.queue, state.origin_queue, state.exists, state.messages, len(held)))
        if remaining is not None:
            remaining -= len(held)


async def list_dead_letters(
    connection: AbstractRobustConnection,
    queues: Sequence[str] | None = None,
    *,
    limit: int | None = None,
    selector: Selector | None = None,
    progress: Progress | None = None,
) -> Listing:
    """Read the dead-letter queues (the system's by default) and leave every message in place.

    `limit` bounds how many messages are read in all; `Listing.queues` says how many each queue held,
    so a partial read shows. `selector` keeps only matching messages in `Listing.letters`.
    """
    states = await scope(connection, queues, selector)
    letters: list[DeadLetter] = []
    scanned: list[QueueState] = []
    async with contextlib.aclosing(held_letters(connection, states, scanned, progress, limit)) as held:
        async for _, found in held:
            letters += [letter for _, letter in found if selector is None or selector.matches(letter)]
    return Listing(letters, scanned)


async def find(
    connection: AbstractRobustConnection,
    message_id: str,
    queues: Sequence[str] | None = None,
    *,
    progress: Progress | None = None,
) -> list[DeadLetter]:
    """Every dead letter with this message id (one event may have been dead-lettered twice)."""
    listing = await list_dead_letters(
        connection, queues, selector=Selector(ids=frozenset({message_id})), progress=progress
    )
    return listing.letters
