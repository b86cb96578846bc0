"""What a dead letter says about itself, pure: no broker I/O.

A message in a dead-letter queue carries why it is there (the consumer's `dead-letter-*` headers, or the
broker's `x-death` when the broker dead-lettered it), where it came from, and how often an operator has
requeued it. This module reads that (`DeadLetter.from_message`), groups dead letters (`summarize`),
selects them (`Selector`), and says what a requeued copy carries (`requeue_headers`). The operations that
read, requeue and purge the queues on the broker are payment-svc's operator tools
(`payment_svc.admin.dead_letters`); every service's consumer writes the headers read here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel, ConfigDict

from payments_common.consumer import ATTEMPT_HEADER, FIRST_FAILURE_HEADER, LAST_ERROR_HEADER
from payments_common.timeutil import IsoDatetime, iso
from payments_common.topology import CONSUMER_QUEUES

DLQ_SUFFIX = ".dlq"
# the dead-letter queues of the system: what an operator looks at when naming none
SYSTEM_DEAD_LETTER_QUEUES: tuple[str, ...] = tuple(spec.dlq for spec in CONSUMER_QUEUES)

REQUEUE_COUNT_HEADER = "requeue-count"
REQUEUED_AT_HEADER = "requeued-at"
LAST_DEAD_LETTER_REASON_HEADER = "last-dead-letter-reason"
DEAD_LETTER_HEADER_PREFIX = "dead-letter-"
RETRIES_EXHAUSTED_PREFIX = "RETRIES_EXHAUSTED:"


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


def _rounded(seconds: float | None) -> float | None:
    return round(seconds, 3) if seconds is not None else None


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


class _AboutDeadLetter(BaseModel):
    """What a dead letter says about itself, both as read off the broker and as an answer shows it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    queue: str
    origin_queue: str
    reason: str
    error_type: str | None
    error: str | None
    attempts: int | None
    first_failure_at: IsoDatetime | None
    last_failure_at: IsoDatetime | None
    age_seconds: float | None
    requeue_count: int
    last_requeued_at: IsoDatetime | None
    content_type: str | None
    correlation_id: str | None
    type: str | None


class DeadLetter(_AboutDeadLetter):
    """A dead letter as read off the broker: its headers as they are, its body as bytes."""

    headers: dict[str, Any]
    body: bytes

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
        """The letter as `DeadLetterView` writes it; `body` and `body_encoding` only with `include_body`."""
        shown = self.model_dump(exclude={"headers", "body"})
        shown["age_seconds"] = _rounded(self.age_seconds)
        shown["headers"] = _jsonable(self.headers)
        if include_body:
            shown["body"], shown["body_encoding"] = body_as_json(self.body)
        return DeadLetterView(**shown).model_dump(mode="json", exclude_unset=True)


class DeadLetterView(_AboutDeadLetter):
    """A dead letter as payment-svc's admin API answers it and the console reads it (unknown fields
    ignored, so that an answer may grow without breaking the console)."""

    headers: dict[str, Any]
    # only when asked for: the body parsed when it is JSON, else base64 (`body_encoding` says which)
    body: Any = None
    body_encoding: str | None = None


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
        return asdict(self)


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
        return {**asdict(self), "oldest_age_seconds": _rounded(self.oldest_age_seconds)}


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
