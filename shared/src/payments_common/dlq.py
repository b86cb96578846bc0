"""Operator actions on the dead-letter queues: list, show, requeue to the origin queue, purge.

A queue cannot be read without taking messages off it, so every action works the same way: one
channel consumes the dead-letter queue without acknowledging anything, holding each message it
receives; the action then acknowledges only what it dealt with (published to its origin queue and
confirmed, or purged), and closing the channel hands every other message back to the broker. A
crash, a dropped connection or an exception at any point therefore returns messages; nothing is
removed from a dead-letter queue that was not first confirmed elsewhere or explicitly purged.

Concurrency:
- Two operators at once: a message held by one scan is not delivered to another, so the broker's
  delivery is the lock and no message is requeued or purged twice. The other scan simply does not
  see the held messages until they are handed back; it reports what it saw, and its counts are the
  broker's *ready* counts, which leave out messages someone is holding.
- A consumer dead-lettering meanwhile: a scan takes at most the number of messages the queue held
  when it started, so it ends even while new ones keep arriving, and it stops consuming before it
  acts, so a requeued message that fails again and comes straight back is not picked up and
  requeued a second time by the same run.
- A requeue is published with confirms, then its dead-letter copy acknowledged. Failing in between
  leaves a copy in both queues: a duplicate, which the consumer's inbox absorbs, never a loss.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import aio_pika
import orjson
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from payments_common.broker import Publisher, PublishError
from payments_common.consumer import ATTEMPT_HEADER, FIRST_FAILURE_HEADER, LAST_ERROR_HEADER
from payments_common.logging import get_logger
from payments_common.timeutil import iso, utcnow
from payments_common.topology import CONSUMER_QUEUES
from payments_common.waiting import wait_set

log = get_logger(__name__)

DLQ_SUFFIX = ".dlq"
# the dead-letter queues of the system: what an operator looks at when naming none
SYSTEM_DEAD_LETTER_QUEUES: tuple[str, ...] = tuple(spec.dlq for spec in CONSUMER_QUEUES)

REQUEUE_COUNT_HEADER = "requeue-count"
REQUEUED_AT_HEADER = "requeued-at"
LAST_DEAD_LETTER_REASON_HEADER = "last-dead-letter-reason"
DEAD_LETTER_HEADER_PREFIX = "dead-letter-"
RETRIES_EXHAUSTED_PREFIX = "RETRIES_EXHAUSTED:"

# Everything a scan holds is unacknowledged at once, and a consumer's prefetch is what lets the broker
# push that many: it is sized to the number of messages the scan means to hold (a prefetch in the tens
# would stall the scan after the first few dozen). prefetch_count is a 16-bit field, hence the cap.
MAX_SCAN = 65_535
# a scan that receives nothing for this long has seen all it can: the rest is held by someone else
IDLE_SECONDS = 1.0
# confirmed publishes in flight at once: about where the broker's confirm rate levels off (~3,500/s)
PUBLISH_CONCURRENCY = 100
PROGRESS_EVERY = 500

Progress = Callable[[str, int, int], None]
"""Called as `progress(step, done, total)` every `PROGRESS_EVERY` messages and when a step ends."""

Action = Literal["requeue", "purge"]
Status = Literal["requeued", "purged", "would_requeue", "would_purge", "failed"]


class DeadLetterError(Exception):
    """A dead-letter operation could not run as asked."""


class UnknownQueueError(DeadLetterError):
    """The named queue is neither one of the system's nor a dead-letter queue on the broker."""


def dead_letter_queue(name: str) -> str:
    """The dead-letter queue of `name`, which may be the work queue `Q` or `Q.dlq` itself."""
    return name if name.endswith(DLQ_SUFFIX) else name + DLQ_SUFFIX


def origin_of(dead_letter_queue_name: str) -> str:
    # each dead-letter queue is bound to its service's DLX by its work queue's name: one origin each
    return dead_letter_queue_name.removesuffix(DLQ_SUFFIX)


# ---------------------------------------------------------------------------------------------------
# What a dead letter says about itself


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = _text(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _jsonable(value: Any) -> Any:
    """Header values as JSON: AMQP tables may hold bytes, timestamps and decimals."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def body_as_json(body: bytes) -> tuple[Any, Literal["json", "base64"]]:
    """The body parsed when it is JSON, else base64: either way it can be shown."""
    try:
        return orjson.loads(body), "json"
    except orjson.JSONDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def _latest_death(headers: dict[str, Any]) -> dict[str, Any] | None:
    # the broker keeps x-death newest first
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    queue: str
    origin_queue: str
    reason: str
    error_type: str | None
    error: str | None
    attempts: int | None
    first_failure_at: datetime | None
    last_failure_at: datetime | None
    age_seconds: float | None
    requeue_count: int
    last_requeued_at: datetime | None
    headers: dict[str, Any]
    body: bytes
    content_type: str | None
    correlation_id: str | None
    type: str | None

    @classmethod
    def from_message(cls, message: AbstractIncomingMessage, queue: str, now: datetime) -> DeadLetter:
        headers = dict(message.headers or {})
        fallback_origin = origin_of(queue)
        reason = _text(headers.get("dead-letter-reason"))
        death = _latest_death(headers)
        if reason:
            # dead-lettered by our consumer, which says why in its own headers
            origin = _text(headers.get("dead-letter-origin-queue")) or fallback_origin
            error_type = _text(headers.get("dead-letter-error-type"))
            error = _text(headers.get("dead-letter-error"))
            attempts = _int(headers.get("dead-letter-attempts"))
            first = _moment(headers.get("dead-letter-first-failure-at"))
            last = _moment(headers.get("dead-letter-last-failure-at"))
        elif death is not None:
            # dead-lettered by the broker itself (x-delivery-limit: a consumer kept crashing on it)
            reason = (_text(death.get("reason")) or "unknown").upper()
            origin = _text(death.get("queue")) or fallback_origin
            error_type = None
            error = _text(headers.get(LAST_ERROR_HEADER))
            attempts = None
            last = _moment(death.get("time"))
            first = _moment(headers.get(FIRST_FAILURE_HEADER)) or last
        else:
            # published here by hand, or by something that says nothing about why
            reason, origin = "UNKNOWN", fallback_origin
            error_type = error = None
            attempts = None
            first = last = None
        return cls(
            id=message.message_id or "",
            queue=queue,
            origin_queue=origin,
            reason=reason,
            error_type=error_type,
            error=error,
            attempts=attempts,
            first_failure_at=first,
            last_failure_at=last,
            age_seconds=(now - last).total_seconds() if last else None,
            requeue_count=_int(headers.get(REQUEUE_COUNT_HEADER)) or 0,
            last_requeued_at=_moment(headers.get(REQUEUED_AT_HEADER)),
            headers=headers,
            body=message.body,
            content_type=message.content_type,
            correlation_id=message.correlation_id,
            type=message.type,
        )

    def to_json(self, include_body: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "queue": self.queue,
            "origin_queue": self.origin_queue,
            "reason": self.reason,
            "error_type": self.error_type,
            "error": self.error,
            "attempts": self.attempts,
            "first_failure_at": iso(self.first_failure_at) if self.first_failure_at else None,
            "last_failure_at": iso(self.last_failure_at) if self.last_failure_at else None,
            "age_seconds": round(self.age_seconds, 3) if self.age_seconds is not None else None,
            "requeue_count": self.requeue_count,
            "last_requeued_at": iso(self.last_requeued_at) if self.last_requeued_at else None,
            "content_type": self.content_type,
            "correlation_id": self.correlation_id,
            "type": self.type,
            "headers": _jsonable(self.headers),
        }
        if include_body:
            data["body"], data["body_encoding"] = body_as_json(self.body)
        return data


def requeue_headers(letter: DeadLetter, now: datetime) -> dict[str, Any]:
    """The headers a requeued copy carries: a fresh round of retries, marked as requeued."""
    headers = {
        key: value
        for key, value in letter.headers.items()
        # x- headers belong to the broker; the dead-letter ones would make the next failure look old
        if not key.startswith("x-") and not key.startswith(DEAD_LETTER_HEADER_PREFIX)
    }
    headers[REQUEUE_COUNT_HEADER] = letter.requeue_count + 1
    headers[REQUEUED_AT_HEADER] = iso(now)
    headers[ATTEMPT_HEADER] = 0
    headers[LAST_DEAD_LETTER_REASON_HEADER] = letter.reason
    return headers


# ---------------------------------------------------------------------------------------------------
# Listings and groups


@dataclass(frozen=True, slots=True)
class QueueState:
    """One dead-letter queue as a scan found it; `messages` is the broker's ready count at the start."""

    queue: str
    origin_queue: str
    exists: bool
    messages: int
    scanned: int = 0

    @property
    def truncated(self) -> bool:
        return self.scanned < self.messages

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "origin_queue": self.origin_queue,
            "exists": self.exists,
            "messages": self.messages,
            "scanned": self.scanned,
        }


@dataclass(frozen=True, slots=True)
class Listing:
    letters: list[DeadLetter]
    queues: list[QueueState]

    @property
    def truncated(self) -> bool:
        return any(state.truncated for state in self.queues)

    def to_json(self, *, messages: bool) -> dict[str, Any]:
        """The listing as the console and the admin API answer it: per queue, per group, per message."""
        return {
            "queues": [state.to_json() for state in self.queues],
            "groups": [group.to_json() for group in summarize(self.letters)],
            "messages": [letter.to_json() for letter in self.letters] if messages else None,
            "truncated": self.truncated,
        }


@dataclass(frozen=True, slots=True)
class Group:
    origin_queue: str
    reason: str
    count: int
    oldest_age_seconds: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "origin_queue": self.origin_queue,
            "reason": self.reason,
            "count": self.count,
            "oldest_age_seconds": round(self.oldest_age_seconds, 3) if self.oldest_age_seconds is not None else None,
        }


def summarize(letters: Iterable[DeadLetter]) -> list[Group]:
    """Dead letters grouped by origin queue and reason, in that order."""
    groups: dict[tuple[str, str], list[DeadLetter]] = {}
    for letter in letters:
        groups.setdefault((letter.origin_queue, letter.reason), []).append(letter)
    return [
        Group(
            origin_queue=origin,
            reason=reason,
            count=len(members),
            oldest_age_seconds=max((m.age_seconds for m in members if m.age_seconds is not None), default=None),
        )
        for (origin, reason), members in sorted(groups.items())
    ]


# ---------------------------------------------------------------------------------------------------
# Which messages an action applies to


@dataclass(frozen=True, slots=True)
class Selector:
    """Messages by id, by queue, by reason (all given must hold), or every one with `all`.

    An empty selector is refused rather than read as "everything": requeueing or purging a whole
    queue must be asked for.
    """

    ids: frozenset[str] = frozenset()
    queue: str | None = None
    reason: str | None = None
    all: bool = False

    def __post_init__(self) -> None:
        if not (self.ids or self.queue or self.reason or self.all):
            raise ValueError("select messages by ids, queue, reason, or all")
        if self.all and (self.ids or self.reason):
            raise ValueError("all selects every message: it does not combine with ids or a reason")

    def matches(self, letter: DeadLetter) -> bool:
        if self.ids and letter.id not in self.ids:
            return False
        if self.queue and letter.queue != dead_letter_queue(self.queue):
            return False
        return not self.reason or reason_matches(letter.reason, self.reason)


def reason_matches(reason: str, wanted: str) -> bool:
    """`UNKNOWN_PAYMENT` finds `RETRIES_EXHAUSTED:UNKNOWN_PAYMENT` as well; codes ignore case."""
    reason, wanted = reason.upper(), wanted.upper()
    return wanted in (reason, reason.removeprefix(RETRIES_EXHAUSTED_PREFIX))


# ---------------------------------------------------------------------------------------------------
# Reading a dead-letter queue


async def _ready_count(connection: AbstractRobustConnection, queue: str) -> int | None:
    """The broker's ready count of `queue`, None when there is no such queue."""
    # a passive declare of a missing queue closes its channel: it gets one of its own
    channel = await connection.channel()
    try:
        # robust=False: the robust channel would otherwise answer from its cache of declared queues
        declared = await channel.declare_queue(queue, passive=True, robust=False)
        return declared.declaration_result.message_count or 0
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return None
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


async def _scope(
    connection: AbstractRobustConnection, queues: Sequence[str] | None, selector: Selector | None
) -> list[QueueState]:
    """The dead-letter queues an action reads, checked before anything is touched."""
    scope = tuple(dict.fromkeys(dead_letter_queue(q) for q in queues)) if queues else SYSTEM_DEAD_LETTER_QUEUES
    if selector is not None and selector.queue:
        scope = (dead_letter_queue(selector.queue),)
    states = []
    for name in scope:
        count = await _ready_count(connection, name)
        if count is None and name not in SYSTEM_DEAD_LETTER_QUEUES:
            raise UnknownQueueError(
                f"no dead-letter queue {name!r} on the broker; the system's are {', '.join(SYSTEM_DEAD_LETTER_QUEUES)}"
            )
        # one of the system's queues that was never declared (its service never ran) is just empty
        states.append(QueueState(name, origin_of(name), exists=count is not None, messages=count or 0))
    return states


@contextlib.asynccontextmanager
async def _holding(
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
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


def _scan_size(state: QueueState, remaining: int | None) -> int:
    size = min(state.messages, MAX_SCAN)
    return size if remaining is None else min(size, remaining)


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
    states = await _scope(connection, queues, selector)
    letters: list[DeadLetter] = []
    scanned: list[QueueState] = []
    remaining = limit
    for state in states:
        size = _scan_size(state, remaining)
        if size <= 0:
            scanned.append(state)
            continue
        async with _holding(connection, state.queue, size, progress) as held:
            now = utcnow()
            found = [DeadLetter.from_message(message, state.queue, now) for message in held]
        letters += [letter for letter in found if selector is None or selector.matches(letter)]
        scanned.append(QueueState(state.queue, state.origin_queue, state.exists, state.messages, len(held)))
        if remaining is not None:
            remaining -= len(held)
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
        return {
            "id": self.id,
            "queue": self.queue,
            "origin_queue": self.origin_queue,
            "reason": self.reason,
            "status": self.status,
            "error": self.error,
        }


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


async def _operate(
    connection: AbstractRobustConnection,
    action: Action,
    selector: Selector,
    *,
    dry_run: bool,
    queues: Sequence[str] | None,
    progress: Progress | None,
) -> OperationResult:
    states = await _scope(connection, queues, selector)
    outcomes: list[Outcome] = []
    scanned: list[QueueState] = []
    seen_ids: set[str] = set()
    publisher = Publisher(connection) if action == "requeue" and not dry_run else None
    slots = asyncio.Semaphore(PUBLISH_CONCURRENCY)
    try:
        for state in states:
            size = _scan_size(state, None)
            if size <= 0:
                scanned.append(state)
                continue
            # one queue at a time, acted on while held: the unselected go back when the block ends
            async with _holding(connection, state.queue, size, progress) as held:
                now = utcnow()
                chosen = []
                for message in held:
                    letter = DeadLetter.from_message(message, state.queue, now)
                    seen_ids.add(letter.id)
                    if selector.matches(letter):
                        chosen.append((message, letter))
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
            scanned.append(QueueState(state.queue, state.origin_queue, state.exists, state.messages, len(held)))
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
    connection: AbstractRobustConnection,
    selector: Selector,
    *,
    dry_run: bool = False,
    queues: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> OperationResult:
    """Publish each selected dead letter back to its origin queue, then remove it from the DLQ.

    The copy gets `requeue-count` + 1, `requeued-at`, `retry-attempt` 0 and the old reason as
    `last-dead-letter-reason`, without the `dead-letter-*` headers. Safe for events already applied:
    the consumer's inbox makes them a no-op. A message whose publish is not confirmed stays put and
    is reported as failed. A dry run only reports what it would requeue.
    """
    return await _operate(connection, "requeue", selector, dry_run=dry_run, queues=queues, progress=progress)


async def purge(
    connection: AbstractRobustConnection,
    selector: Selector,
    *,
    dry_run: bool = False,
    queues: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> OperationResult:
    """Drop the selected dead letters for good; the others stay.

    Not a queue purge: that would also drop what arrived after the operator looked.
    """
    return await _operate(connection, "purge", selector, dry_run=dry_run, queues=queues, progress=progress)
