"""The mock gateway's faults, end to end: what the receiver sees and what the gateway's tables record."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from tenacity import wait_fixed

from .helpers import eventually
from .test_mock_gateway_http import (
    StubReceiver,
    assert_properly_signed,
    attempts,
    create,
    deliveries,
    gateway_tables,
    read,
    running_gateway,
    serving_receiver,
    states,
    upi,
)

pytestmark = pytest.mark.integration


@dataclass
class Run:
    client: TestClient[Any, Any]
    receiver: StubReceiver
    db: asyncpg.Pool


@contextlib.asynccontextmanager
async def gateway_run(dsn: str, **overrides: Any) -> AsyncIterator[Run]:
    async with (
        serving_receiver() as receiver,
        gateway_tables(dsn) as (schema, db),
        running_gateway(dsn, schema, receiver, **overrides) as client,
    ):
        yield Run(client, receiver, db)


async def all_finished(db: asyncpg.Pool, payment_id: str) -> bool:
    return await states(db, payment_id) == {"delivered"}


async def stored_faults(db: asyncpg.Pool, payment_id: str) -> list[str]:
    faults: list[str] = await db.fetchval("SELECT faults FROM payments WHERE payment_id = $1", payment_id)
    return faults


async def test_duplicate_sends_two_concurrent_copies_and_a_second_event(database_dsn: str) -> None:
    async with gateway_run(database_dsn) as run:
        run.receiver.answer_delay = 0.2
        created = await create(run.client, upi("success.duplicate@razorpay"))
        payment_id = created["paymentId"]
        await eventually(lambda: all_finished(run.db, payment_id))

        received = run.receiver.for_payment(payment_id)
        assert len(received) == 3
        for delivery in received:
            assert_properly_signed(delivery)
        assert len({delivery.body for delivery in received}) == 1
        rows = {row["purpose"]: row for row in await deliveries(run.db, payment_id)}
        assert set(rows) == {"settlement", "duplicate"}
        settlement, duplicate = rows["settlement"], rows["duplicate"]
        assert settlement["copies"] == 2 and duplicate["copies"] == 1
        assert sorted(d.event_id for d in received) == sorted(
            [settlement["event_id"], settlement["event_id"], duplicate["event_id"]]
        )
        # both copies were at the receiver at once
        assert run.receiver.peak[settlement["event_id"]] == 2
        assert [t["status_code"] for t in await attempts(run.db, settlement["event_id"])] == [200, 200]
        assert await stored_faults(run.db, payment_id) == ["duplicate"]
        assert (await read(run.client, created["id"]))["status"] == "captured"


async def test_timeout_ignores_the_first_answer_and_retries_the_same_event(database_dsn: str) -> None:
    async with gateway_run(database_dsn) as run:
        created = await create(run.client, upi("success.timeout@razorpay"))
        payment_id = created["paymentId"]
        await eventually(lambda: all_finished(run.db, payment_id))

        received = run.receiver.for_payment(payment_id)
        assert len(received) == 2
        assert len({assert_properly_signed(delivery) for delivery in received}) == 1
        [row] = await deliveries(run.db, payment_id)
        tries = await attempts(run.db, row["event_id"])
        # the receiver's real answer is kept, even for the try the gateway pretended not to hear
        assert [(t["attempt"], t["status_code"], t["treated_as_timeout"]) for t in tries] == [
            (1, 200, True),
            (2, 200, False),
        ]
        assert row["attempts"] == 2
        assert await stored_faults(run.db, payment_id) == ["timeout"]


async def test_late_success_fails_first_then_captures(database_dsn: str) -> None:
    async with gateway_run(database_dsn, MOCK_GATEWAY_FAULT_DELAY_MS=600) as run:
        created = await create(run.client, upi("failure.late-success@razorpay"))
        payment_id = created["paymentId"]

        async def status_is(expected: str) -> bool:
            return bool((await read(run.client, created["id"]))["status"] == expected)

        await eventually(lambda: status_is("failed"), what="the failure is the gateway's truth first")
        await eventually(lambda: all_finished(run.db, payment_id))
        record = await read(run.client, created["id"])
        assert (record["status"], record["errorCode"], record["errorDescription"]) == ("captured", None, None)

        received = run.receiver.for_payment(payment_id)
        assert [delivery.json()["status"] for delivery in received] == ["FAILED", "SUCCESS"]
        assert received[0].event_id != received[1].event_id
        rows = {row["event_id"]: row for row in await deliveries(run.db, payment_id)}
        assert rows[received[0].event_id]["purpose"] == "settlement"
        late = rows[received[1].event_id]
        assert (late["purpose"], late["reported_status"]) == ("late_success", "SUCCESS")
        assert late["not_before"] >= rows[received[0].event_id]["delivered_at"]
        assert await stored_faults(run.db, payment_id) == ["late_success"]


async def test_late_success_waits_for_the_failure_to_be_delivered(database_dsn: str) -> None:
    async with gateway_run(database_dsn, retry_wait=wait_fixed(0.05), MOCK_GATEWAY_FAULT_DELAY_MS=100) as run:
        # the receiver is down for longer than the fault delay: the success must still come second
        run.receiver.statuses = [503] * 8
        created = await create(run.client, upi("failure.late_success@razorpay"))
        await eventually(lambda: all_finished(run.db, created["paymentId"]))
        statuses = [d.json()["status"] for d in run.receiver.for_payment(created["paymentId"]) if d.status == 200]
        assert statuses == ["FAILED", "SUCCESS"]


async def test_late_success_does_not_apply_to_a_success(database_dsn: str) -> None:
    async with gateway_run(database_dsn) as run:
        created = await create(run.client, upi("success.late-success@razorpay"))
        assert [row["purpose"] for row in await deliveries(run.db, created["paymentId"])] == ["settlement"]
        assert await stored_faults(run.db, created["paymentId"]) == []


async def test_reorder_releases_the_duplicate_before_the_settlement(database_dsn: str) -> None:
    async with gateway_run(database_dsn) as run:
        created = await create(run.client, upi("success.reorder.duplicate@razorpay"))
        payment_id = created["paymentId"]
        rows = {row["purpose"]: row for row in await deliveries(run.db, payment_id)}
        assert rows["duplicate"]["not_before"] < rows["settlement"]["not_before"]
        await eventually(lambda: all_finished(run.db, payment_id))
        first = run.receiver.for_payment(payment_id)[0]
        assert first.event_id == rows["duplicate"]["event_id"]
        assert await stored_faults(run.db, payment_id) == ["duplicate", "reorder"]
        assert (await read(run.client, created["id"]))["status"] == "captured"


async def test_delay_holds_the_settlement(database_dsn: str) -> None:
    async with gateway_run(database_dsn, MOCK_GATEWAY_FAULT_DELAY_MS=500) as run:
        created = await create(run.client, upi("success.delay@razorpay"))
        payment_id = created["paymentId"]
        [row] = await deliveries(run.db, payment_id)
        created_at = await run.db.fetchval("SELECT created_at FROM payments WHERE payment_id = $1", payment_id)
        assert (row["not_before"] - created_at).total_seconds() >= 0.5
        waited = await eventually(lambda: len(run.receiver.for_payment(payment_id)) == 1)
        assert waited >= 0.4
        assert await stored_faults(run.db, payment_id) == ["delay"]


async def test_per_run_faults_apply_to_every_payment(database_dsn: str) -> None:
    async with gateway_run(
        database_dsn, MOCK_GATEWAY_FAULTS="duplicate=1,timeout=1.0", MOCK_GATEWAY_FAULT_SEED=7
    ) as run:
        created = await create(run.client)
        payment_id = created["paymentId"]
        assert await stored_faults(run.db, payment_id) == ["duplicate", "timeout"]
        rows = {row["purpose"]: row for row in await deliveries(run.db, payment_id)}
        assert (rows["settlement"]["copies"], rows["settlement"]["fake_timeouts"]) == (2, 1)
        await eventually(lambda: all_finished(run.db, payment_id))
        tries = await attempts(run.db, rows["settlement"]["event_id"])
        assert [t["treated_as_timeout"] for t in tries].count(True) == 1


async def test_pending_stays_created_whatever_the_faults(database_dsn: str) -> None:
    async with gateway_run(database_dsn, MOCK_GATEWAY_FAULTS="duplicate=1,late_success=1") as run:
        created = await create(run.client, upi("pending.duplicate@razorpay"))
        assert await deliveries(run.db, created["paymentId"]) == []
        assert await stored_faults(run.db, created["paymentId"]) == []
        assert (await read(run.client, created["id"]))["status"] == "created"
