"""wait_set: a deadline on an event that never swallows the cancellation stopping its caller."""

from __future__ import annotations

import asyncio

import pytest

from payments_common.waiting import wait_set


async def test_true_when_set_false_when_the_time_runs_out() -> None:
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    event.set()
    assert await wait_set(event, 0.01) is True


async def test_a_cancellation_arriving_with_the_wake_up_is_not_lost() -> None:
    # the race that made a polling loop outlive its cancel(): woken and cancelled in one loop iteration
    for _ in range(50):
        event = asyncio.Event()
        waiter = asyncio.create_task(wait_set(event, 10))
        await asyncio.sleep(0)
        event.set()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter


async def test_a_loop_polling_with_it_stops_when_cancelled_while_being_poked() -> None:
    event = asyncio.Event()
    rounds = 0

    async def poll() -> None:
        nonlocal rounds
        while True:
            event.clear()
            await wait_set(event, 0.001)
            rounds += 1

    async def poke() -> None:
        while True:
            event.set()
            await asyncio.sleep(0)

    loop_task, poker = asyncio.create_task(poll()), asyncio.create_task(poke())
    await asyncio.sleep(0.05)
    loop_task.cancel()
    # asyncio.wait cancels nothing on its timeout: a loop that swallowed the cancel fails here, not hangs
    await asyncio.wait([loop_task], timeout=5)
    poker.cancel()
    assert loop_task.cancelled()
    assert rounds > 0
