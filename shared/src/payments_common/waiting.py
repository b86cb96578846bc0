"""Waiting for an event with a deadline, without losing a cancellation.

On Python 3.11, `asyncio.wait_for` returns the inner result when the inner await finishes in the same
loop iteration as the outer task is cancelled: the cancellation is swallowed. A polling loop that
waits for a wake-up that way, and is woken often, can so survive the `cancel()` meant to stop it, and
whoever awaits its end waits forever. `asyncio.timeout` (3.11) re-raises the cancellation correctly.
"""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """True when `event` was set within `seconds`, False when the time ran out."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
