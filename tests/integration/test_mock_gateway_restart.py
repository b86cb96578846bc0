"""The mock gateway across a restart: planned and interrupted deliveries are resumed from its tables."""

from __future__ import annotations

import asyncpg
import pytest
from tenacity import wait_fixed

from .helpers import eventually
from .test_mock_gateway_http import (
    assert_properly_signed,
    attempts,
    create,
    deliveries,
    gateway_tables,
    read,
    running_gateway,
    serving_receiver,
    states,
)

pytestmark = pytest.mark.integration


async def test_a_delivery_planned_before_a_stop_is_sent_after_the_restart(database_dsn: str) -> None:
    async with serving_receiver() as receiver, gateway_tables(database_dsn) as (schema, db):
        async with running_gateway(database_dsn, schema, receiver, MOCK_GATEWAY_SETTLE_DELAY_MS=1500) as first:
            created = await create(first)
        # stopped before the settlement fell due: nothing went out, the plan is in the table
        assert receiver.received == []
        [planned] = await deliveries(db, created["paymentId"])
        assert (planned["state"], planned["attempts"]) == ("pending", 0)

        async with running_gateway(database_dsn, schema, receiver) as second:
            await eventually(lambda: len(receiver.received) == 1, what="the planned webhook after the restart")
            assert assert_properly_signed(receiver.received[0]) == planned["event_id"]
            assert receiver.received[0].json()["status"] == "SUCCESS"
            await eventually(lambda: _states_are(db, created["paymentId"], {"delivered"}))
            assert (await read(second, created["id"]))["status"] == "captured"


async def test_a_delivery_cut_short_by_a_stop_resumes_under_the_same_event_id(database_dsn: str) -> None:
    async with serving_receiver() as receiver, gateway_tables(database_dsn) as (schema, db):
        receiver.statuses = [503] * 10_000
        async with running_gateway(
            database_dsn, schema, receiver, retry_wait=wait_fixed(0.02), MOCK_GATEWAY_SETTLE_DELAY_MS=0
        ) as first:
            created = await create(first)
            await eventually(lambda: len(receiver.received) >= 2)
        [row] = await deliveries(db, created["paymentId"])
        assert row["state"] == "pending"
        tries_before = row["attempts"]

        receiver.statuses.clear()
        async with running_gateway(database_dsn, schema, receiver):
            await eventually(lambda: _states_are(db, created["paymentId"], {"delivered"}))
        assert {assert_properly_signed(delivery) for delivery in receiver.received} == {row["event_id"]}
        tries = await attempts(db, row["event_id"])
        # numbered on from where the first process stopped, never reused
        assert [t["attempt"] for t in tries] == list(range(1, len(tries) + 1))
        assert len(tries) > tries_before
        assert tries[-1]["status_code"] == 200


async def _states_are(db: asyncpg.Pool, payment_id: str, expected: set[str]) -> bool:
    return await states(db, payment_id) == expected
