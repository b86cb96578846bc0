"""Dead-letter operations (payment-svc's, as operators' tools run them) against RabbitMQ (and the inbox in
PostgreSQL): messages dead-lettered by the real consumer are listed without being taken, shown, requeued to
their origin queue, purged."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from payment_svc import operations
from payments_common import dlq, inbox
from payments_common.broker import Publisher
from payments_common.consumer import ATTEMPT_HEADER, Consumer
from payments_common.dlq import Selector
from payments_common.errors import PermanentError, RetryableError
from payments_common.topology import QueueSpec, declare_queue
from payments_common.uow import UnitOfWork

from .conftest import BrokerNames
from .helpers import drain, eventually, get_message

ROUTING_KEY = "payment.succeeded"
# what the failing handler does with each event, by message id
REASONS = {
    "evt_mismatch_1": "ORDER_MISMATCH",
    "evt_mismatch_2": "ORDER_MISMATCH",
    "evt_malformed": "MALFORMED_EVENT",
    "evt_unknown": "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT",
}


async def ready(connection: AbstractRobustConnection, queue: str) -> int:
    """The broker's count of messages ready in `queue`."""
    async with connection.channel() as channel:
        declared = await channel.declare_queue(queue, passive=True, robust=False)
        return declared.declaration_result.message_count or 0


async def ready_is(connection: AbstractRobustConnection, queue: str, expected: int) -> bool:
    return await ready(connection, queue) == expected


@contextlib.asynccontextmanager
async def consuming(
    connection: AbstractRobustConnection,
    spec: QueueSpec,
    handler: Callable[[AbstractIncomingMessage], Awaitable[None]],
    publisher: Publisher,
) -> AsyncIterator[None]:
    consumer = Consumer(connection, spec, handler, publisher, prefetch=10)
    await consumer.start()
    try:
        yield
    finally:
        await consumer.stop()


async def failing(message: AbstractIncomingMessage) -> None:
    reason = REASONS[message.message_id or ""]
    if reason.startswith("RETRIES_EXHAUSTED:"):
        raise RetryableError("payment not there yet", reason=reason.removeprefix("RETRIES_EXHAUSTED:"))
    raise PermanentError(f"cannot apply: {reason.lower()}", reason=reason)


@pytest.fixture
async def dead_lettered(
    amqp_connection: AbstractRobustConnection, publisher: Publisher, names: BrokerNames
) -> QueueSpec:
    """A work queue whose dead-letter queue holds the four events of `REASONS`, put there by the consumer."""
    spec = names.spec(retry_delays_ms=(50,))
    exchange = spec.bindings[0][0]
    async with consuming(amqp_connection, spec, failing, publisher):
        for n, message_id in enumerate(REASONS):
            body = b"not json" if message_id == "evt_malformed" else orjson.dumps({"n": n})
            await publisher.publish(exchange, ROUTING_KEY, body, message_id=message_id, correlation_id=f"corr-{n}")
        await eventually(lambda: ready_is(amqp_connection, spec.dlq, len(REASONS)), 5.0, "all four dead-lettered")
    return spec


async def test_list_groups_by_origin_and_reason_and_leaves_every_message_in_place(
    amqp_connection: AbstractRobustConnection, dead_lettered: QueueSpec
) -> None:
    spec = dead_lettered
    listing = await operations.list_dead_letters(amqp_connection, [spec.dlq])

    assert sorted(letter.id for letter in listing.letters) == sorted(REASONS)
    groups = {(g.origin_queue, g.reason): g.count for g in dlq.summarize(listing.letters)}
    assert groups == {
        (spec.name, "MALFORMED_EVENT"): 1,
        (spec.name, "ORDER_MISMATCH"): 2,
        (spec.name, "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT"): 1,
    }
    assert all(g.oldest_age_seconds is not None and g.oldest_age_seconds >= 0 for g in dlq.summarize(listing.letters))
    [state] = listing.queues
    assert (state.queue, state.origin_queue, state.exists, state.messages, state.scanned) == (
        spec.dlq,
        spec.name,
        True,
        4,
        4,
    )
    assert not listing.truncated
    unknown = next(letter for letter in listing.letters if letter.id == "evt_unknown")
    assert unknown.error_type == "RetryableError"
    assert unknown.attempts == 2
    assert unknown.first_failure_at is not None and unknown.last_failure_at is not None
    assert unknown.first_failure_at < unknown.last_failure_at
    assert unknown.requeue_count == 0
    # listing took nothing away, and a second listing sees the same
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, 4), 3.0, "the messages back after listing")
    again = await operations.list_dead_letters(amqp_connection, [spec.name])
    assert sorted(letter.id for letter in again.letters) == sorted(REASONS)


async def test_a_limited_listing_says_how_many_the_queue_holds(
    amqp_connection: AbstractRobustConnection, dead_lettered: QueueSpec
) -> None:
    listing = await operations.list_dead_letters(amqp_connection, [dead_lettered.dlq], limit=2)

    assert len(listing.letters) == 2
    [state] = listing.queues
    assert (state.messages, state.scanned, listing.truncated) == (4, 2, True)
    await eventually(lambda: ready_is(amqp_connection, dead_lettered.dlq, 4), 3.0, "all four still there")


async def test_show_finds_a_message_by_id_with_headers_and_body(
    amqp_connection: AbstractRobustConnection, dead_lettered: QueueSpec
) -> None:
    [letter] = await operations.find_dead_letters(amqp_connection, "evt_mismatch_2", [dead_lettered.dlq])
    shown = letter.to_json(include_body=True)

    assert shown["reason"] == "ORDER_MISMATCH"
    assert shown["error"] == "PermanentError: cannot apply: order_mismatch"
    assert shown["origin_queue"] == dead_lettered.name
    assert shown["correlation_id"] == "corr-1"
    assert (shown["body"], shown["body_encoding"]) == ({"n": 1}, "json")
    assert shown["headers"]["dead-letter-attempts"] == 1
    orjson.dumps(shown)  # all of it serialises
    [malformed] = await operations.find_dead_letters(amqp_connection, "evt_malformed", [dead_lettered.dlq])
    assert malformed.to_json(include_body=True)["body_encoding"] == "base64"
    assert await operations.find_dead_letters(amqp_connection, "evt_nowhere", [dead_lettered.dlq]) == []
    await eventually(lambda: ready_is(amqp_connection, dead_lettered.dlq, 4), 3.0, "all four still there")


async def test_requeue_by_id_returns_exactly_that_message_to_its_origin_queue(
    amqp_connection: AbstractRobustConnection, channel: AbstractChannel, dead_lettered: QueueSpec
) -> None:
    spec = dead_lettered
    result = await operations.requeue(amqp_connection, Selector(ids=frozenset({"evt_mismatch_1"})), queues=[spec.dlq])

    assert [(o.id, o.origin_queue, o.status) for o in result.outcomes] == [("evt_mismatch_1", spec.name, "requeued")]
    assert result.ok
    requeued = await get_message(await channel.get_queue(spec.name))
    assert requeued.message_id == "evt_mismatch_1"
    assert requeued.body == orjson.dumps({"n": 0})
    assert requeued.correlation_id == "corr-0"
    headers: dict[str, Any] = dict(requeued.headers or {})
    assert headers["requeue-count"] == 1
    assert headers[ATTEMPT_HEADER] == 0
    assert headers["last-dead-letter-reason"] == "ORDER_MISMATCH"
    assert headers["requeued-at"].endswith("Z")
    assert not [key for key in headers if key.startswith("dead-letter-")]
    assert "x-death" not in headers
    assert await drain(await channel.get_queue(spec.name)) == []
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, 3), 3.0, "the other three left in place")
    left = await operations.list_dead_letters(amqp_connection, [spec.dlq])
    assert sorted(letter.id for letter in left.letters) == sorted(set(REASONS) - {"evt_mismatch_1"})


async def test_requeue_by_reason_matches_the_reason_after_retries_exhausted(
    amqp_connection: AbstractRobustConnection, channel: AbstractChannel, dead_lettered: QueueSpec
) -> None:
    spec = dead_lettered
    # the work queue's own name selects its dead-letter queue too
    result = await operations.requeue(amqp_connection, Selector(queue=spec.name, reason="unknown_payment"))

    assert [(o.id, o.reason, o.status) for o in result.outcomes] == [
        ("evt_unknown", "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT", "requeued")
    ]
    [requeued] = [await get_message(await channel.get_queue(spec.name))]
    assert requeued.message_id == "evt_unknown"
    assert dict(requeued.headers or {})["last-dead-letter-reason"] == "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT"
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, 3), 3.0, "the other three left in place")


async def test_dry_runs_report_and_change_nothing(
    amqp_connection: AbstractRobustConnection, channel: AbstractChannel, dead_lettered: QueueSpec
) -> None:
    spec = dead_lettered
    requeue = await operations.requeue(amqp_connection, Selector(all=True), queues=[spec.dlq], dry_run=True)
    purge = await operations.purge(amqp_connection, Selector(reason="ORDER_MISMATCH"), queues=[spec.dlq], dry_run=True)

    assert Counter(o.status for o in requeue.outcomes) == {"would_requeue": 4}
    assert sorted(o.id for o in purge.outcomes) == ["evt_mismatch_1", "evt_mismatch_2"]
    assert {o.status for o in purge.outcomes} == {"would_purge"}
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, 4), 3.0, "all four still dead-lettered")
    assert await drain(await channel.get_queue(spec.name)) == []


async def test_purge_drops_the_selected_and_keeps_the_rest(
    amqp_connection: AbstractRobustConnection, channel: AbstractChannel, dead_lettered: QueueSpec
) -> None:
    spec = dead_lettered
    result = await operations.purge(amqp_connection, Selector(reason="ORDER_MISMATCH"), queues=[spec.dlq])

    assert sorted((o.id, o.status) for o in result.outcomes) == [
        ("evt_mismatch_1", "purged"),
        ("evt_mismatch_2", "purged"),
    ]
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, 2), 3.0, "two left")
    rest = await operations.purge(amqp_connection, Selector(all=True), queues=[spec.dlq])
    assert sorted(o.id for o in rest.outcomes) == ["evt_malformed", "evt_unknown"]
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, 0), 3.0, "none left")
    assert await drain(await channel.get_queue(spec.name)) == []


async def test_ids_that_are_not_there_are_reported(
    amqp_connection: AbstractRobustConnection, dead_lettered: QueueSpec
) -> None:
    result = await operations.purge(
        amqp_connection, Selector(ids=frozenset({"evt_malformed", "evt_gone"})), queues=[dead_lettered.dlq]
    )

    assert [o.id for o in result.outcomes] == ["evt_malformed"]
    assert result.missing_ids == ["evt_gone"]
    assert not result.ok


async def test_unknown_queues_and_empty_selectors_are_refused(
    amqp_connection: AbstractRobustConnection, names: BrokerNames
) -> None:
    with pytest.raises(dlq.UnknownQueueError, match=r"no dead-letter queue 'it\.nowhere\.dlq'"):
        await operations.requeue(amqp_connection, Selector(queue="it.nowhere"))
    with pytest.raises(dlq.UnknownQueueError):
        await operations.list_dead_letters(amqp_connection, [names.queue("missing")])
    with pytest.raises(ValueError, match="select messages"):
        Selector()
    with pytest.raises(ValueError, match="does not combine"):
        Selector(all=True, reason="ORDER_MISMATCH")


async def test_a_message_whose_requeue_is_not_confirmed_stays_dead_lettered(
    amqp_connection: AbstractRobustConnection, publisher: Publisher, dead_lettered: QueueSpec, names: BrokerNames
) -> None:
    spec = dead_lettered
    # a dead letter whose origin queue no longer exists: the mandatory publish comes back unroutable
    await publisher.publish(
        spec.dlx,
        spec.name,
        b"{}",
        message_id="evt_orphan",
        headers={"dead-letter-reason": "ORDER_MISMATCH", "dead-letter-origin-queue": names.queue("deleted")},
    )
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, 5), 3.0, "the orphan dead-lettered")

    result = await operations.requeue(amqp_connection, Selector(reason="ORDER_MISMATCH"), queues=[spec.dlq])

    statuses = {o.id: o.status for o in result.outcomes}
    assert statuses == {"evt_orphan": "failed", "evt_mismatch_1": "requeued", "evt_mismatch_2": "requeued"}
    [failure] = result.failed
    assert failure.error is not None and "still dead-lettered" in failure.error
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, 3), 3.0, "the orphan and the other two kept")
    left = await operations.list_dead_letters(amqp_connection, [spec.dlq])
    assert "evt_orphan" in {letter.id for letter in left.letters}


async def test_a_message_the_broker_dead_lettered_is_listed_and_requeued(
    amqp_connection: AbstractRobustConnection, publisher: Publisher, channel: AbstractChannel, names: BrokerNames
) -> None:
    # a consumer that keeps crashing on a message: past x-delivery-limit the broker dead-letters it
    spec = dataclasses.replace(names.spec(), delivery_limit=1)
    work = await declare_queue(channel, spec)
    await publisher.publish("", spec.name, b'{"n": 7}', message_id="evt_poison")

    async def returned_to_the_broker() -> bool:
        message = await work.get(no_ack=False, fail=False)
        if message is not None:
            await message.nack(requeue=True)
        return await ready(amqp_connection, spec.dlq) == 1

    await eventually(returned_to_the_broker, 5.0, "the broker dead-lettered it")

    [letter] = (await operations.list_dead_letters(amqp_connection, [spec.dlq])).letters
    assert (letter.id, letter.reason, letter.origin_queue) == ("evt_poison", "DELIVERY_LIMIT", spec.name)
    assert letter.error_type is None
    assert letter.last_failure_at is not None and letter.age_seconds is not None
    result = await operations.requeue(amqp_connection, Selector(reason="DELIVERY_LIMIT"), queues=[spec.dlq])
    assert [o.status for o in result.outcomes] == ["requeued"]
    requeued = await get_message(work)
    headers: dict[str, Any] = dict(requeued.headers or {})
    assert headers["last-dead-letter-reason"] == "DELIVERY_LIMIT"
    assert headers["requeue-count"] == 1
    assert "x-death" not in headers


async def test_two_operators_requeueing_at_once_requeue_each_message_once(
    amqp_connection: AbstractRobustConnection, publisher: Publisher, channel: AbstractChannel, names: BrokerNames
) -> None:
    spec = names.spec()
    await declare_queue(channel, spec)
    for n in range(50):
        headers = {"dead-letter-reason": "ORDER_MISMATCH", "dead-letter-origin-queue": spec.name}
        await publisher.publish(spec.dlx, spec.name, b"{}", message_id=f"evt_{n}", headers=headers)
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, 50), 3.0, "all dead-lettered")

    first, second = await asyncio.gather(
        operations.requeue(amqp_connection, Selector(all=True), queues=[spec.dlq]),
        operations.requeue(amqp_connection, Selector(all=True), queues=[spec.dlq]),
    )

    # the broker hands each message to one scan at a time; AMQP does not confirm an acknowledgement, so
    # a message may rarely be requeued by both (the module's notes): never lost, repeated only under its id
    requeued = [o.id for o in first.outcomes + second.outcomes if o.status == "requeued"]
    assert set(requeued) <= {f"evt_{n}" for n in range(50)}
    assert not [o for o in first.outcomes + second.outcomes if o.status == "failed"]
    # the other operator's scan may end before the first hands anything back; a third run takes the rest
    third = await operations.requeue(amqp_connection, Selector(all=True), queues=[spec.dlq])
    expected = len(requeued) + len(third.outcomes)
    await eventually(lambda: ready_is(amqp_connection, spec.name, expected), 3.0, "every requeue in the work queue")
    arrived = [m.message_id for m in await drain(await channel.get_queue(spec.name))]
    assert set(arrived) == {f"evt_{n}" for n in range(50)}
    assert sorted(arrived) == sorted(requeued + [o.id for o in third.outcomes])
    assert await ready(amqp_connection, spec.dlq) == 0


async def test_thousands_of_dead_letters_are_listed_and_requeued_with_progress(
    amqp_connection: AbstractRobustConnection, channel: AbstractChannel, names: BrokerNames
) -> None:
    spec = names.spec()
    await declare_queue(channel, spec)
    total = 2_000
    headers = {"dead-letter-reason": "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT", "dead-letter-origin-queue": spec.name}
    dlx = await channel.get_exchange(spec.dlx)
    for start in range(0, total, 250):
        await asyncio.gather(
            *(
                dlx.publish(aio_pika.Message(b"{}", message_id=f"evt_{n}", headers=headers), routing_key=spec.name)
                for n in range(start, start + 250)
            )
        )
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, total), 10.0, "all dead-lettered")
    steps: list[tuple[str, int, int]] = []

    listing = await operations.list_dead_letters(amqp_connection, [spec.dlq], progress=lambda *step: steps.append(step))

    assert len(listing.letters) == total
    assert [g.count for g in dlq.summarize(listing.letters)] == [total]
    assert (f"scan {spec.dlq}", 500, total) in steps
    assert steps[-1] == (f"scan {spec.dlq}", total, total)
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, total), 3.0, "all back after listing")

    result = await operations.requeue(amqp_connection, Selector(reason="UNKNOWN_PAYMENT"), queues=[spec.dlq])

    assert Counter(o.status for o in result.outcomes) == {"requeued": total}
    await eventually(lambda: ready_is(amqp_connection, spec.name, total), 5.0, "all in the work queue")
    assert await ready(amqp_connection, spec.dlq) == 0


@pytest.fixture
async def applied(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute("CREATE TABLE applied (message_id text NOT NULL)")
    return pool


async def test_a_requeued_event_the_inbox_already_applied_is_not_applied_twice(
    applied: asyncpg.Pool, amqp_connection: AbstractRobustConnection, publisher: Publisher, names: BrokerNames
) -> None:
    spec = names.spec(retry_delays_ms=(50,))
    exchange = spec.bindings[0][0]
    order_exists = False
    # per delivery that got past the failure: its id, its requeue count, and whether it applied
    handled: list[tuple[str, Any, bool]] = []

    async def handler(message: AbstractIncomingMessage) -> None:
        if not order_exists:
            raise PermanentError("order not there", reason="UNKNOWN_ORDER")
        message_id = message.message_id or ""
        async with UnitOfWork(applied) as uow:
            claimed = await inbox.claim(uow.conn, spec.name, message_id)
            if claimed:
                await uow.conn.execute("INSERT INTO applied (message_id) VALUES ($1)", message_id)
        handled.append((message_id, (message.headers or {}).get("requeue-count"), claimed))

    async with consuming(amqp_connection, spec, handler, publisher):
        for message_id in ("evt_late", "evt_redelivered"):
            await publisher.publish(exchange, ROUTING_KEY, b"{}", message_id=message_id)
        await eventually(lambda: ready_is(amqp_connection, spec.dlq, 2), 5.0, "both dead-lettered")
        order_exists = True
        # the producer delivers one of them again, which now applies; its dead letter is stale
        await publisher.publish(exchange, ROUTING_KEY, b"{}", message_id="evt_redelivered")
        await eventually(lambda: len(handled) == 1, 5.0, "the redelivery handled")

        result = await operations.requeue(amqp_connection, Selector(all=True), queues=[spec.dlq])
        assert result.ok and len(result.outcomes) == 2
        await eventually(lambda: len(handled) == 3, 5.0, "both requeued events handled")
        # acknowledged, not dead-lettered again
        await eventually(lambda: ready_is(amqp_connection, spec.dlq, 0), 3.0, "the dead-letter queue empty")

    assert handled[0] == ("evt_redelivered", None, True)
    assert sorted(handled[1:]) == [("evt_late", 1, True), ("evt_redelivered", 1, False)]
    rows = await applied.fetch("SELECT message_id FROM applied")
    assert sorted(row["message_id"] for row in rows) == ["evt_late", "evt_redelivered"]
