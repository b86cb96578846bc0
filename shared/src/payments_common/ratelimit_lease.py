"""A shared bucket spent a lease at a time: each process takes a few tokens from Redis in one round
trip and hands them out locally, so a limit of hundreds of requests a second costs a Redis round trip
every few requests instead of on every one.

It never lets more through than the shared bucket: every token spent was taken from Redis first. What
it gives up is a little of the budget: tokens one replica leased and did not spend within
`LEASE_TTL_SECONDS` are dropped, so near its limit a source may be refused up to a lease per replica
early. A lease is `LEASE_SECONDS` of the limit's rate (capped at `LEASE_MAX` tokens), small beside the
burst a capacity limit allows, and a limit slow enough for that to be 1 token is not leased at all.

A refusal is remembered for the wait Redis answered with: no replica adds tokens, so none appears
before then, and a flood past the limit is refused locally instead of each request asking Redis again.
Concurrent requests finding no lease wait for the one refill in flight rather than each leasing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol

from payments_common.ratelimit import Decision

LEASE_SECONDS = 0.02
LEASE_MAX = 32
LEASE_TTL_SECONDS = 1.0
# past this many keys held, the expired ones are dropped (each key is a source or a merchant); the next
# purge waits until the table has doubled again, so a table of live keys is not scanned on every refill
PURGE_ABOVE = 10_000
_ALLOWED = Decision(True)


def lease_size(rate_per_second: float, burst: float) -> int:
    """Tokens taken per round trip for a limit of `rate_per_second` and `burst`."""
    return max(1, min(LEASE_MAX, int(rate_per_second * LEASE_SECONDS), int(burst)))


class SharedBucket(Protocol):
    name: str

    async def acquire(self, key: Hashable, cost: float = 1.0) -> Decision: ...

    async def take(self, key: Hashable, cost: float, most: float) -> tuple[Decision, float]: ...


@dataclass(slots=True)
class _Held:
    tokens: int = 0
    expires: float = 0.0  # the tokens are dropped after this
    refused_until: float = 0.0  # Redis said no token before this
    refill: asyncio.Future[None] | None = None


class LeasedLimiter:
    def __init__(self, shared: SharedBucket, size: int, ttl: float = LEASE_TTL_SECONDS) -> None:
        self.name = shared.name
        self.shared = shared
        self.size = size
        self.ttl = ttl
        self._held: dict[Hashable, _Held] = {}
        self._purge_above = PURGE_ABOVE

    @property
    def keys_held(self) -> int:
        """Subjects with a lease, a remembered refusal or a refill in flight."""
        return len(self._held)

    async def acquire(self, key: Hashable, cost: float = 1.0) -> Decision:
        if cost != 1.0:
            return await self.shared.acquire(key, cost)
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = _Held()
        while True:
            now = time.monotonic()
            if held.tokens > 0 and now < held.expires:
                held.tokens -= 1
                return _ALLOWED
            if now < held.refused_until:
                return Decision(False, held.refused_until - now)
            if held.refill is None:
                break
            await asyncio.shield(held.refill)
        return await self._refill(key, held)

    async def _refill(self, key: Hashable, held: _Held) -> Decision:
        """One round trip for a lease; the caller spends the first token, the rest stay held."""
        held.refill = asyncio.get_running_loop().create_future()
        try:
            decision, taken = await self.shared.take(key, 1.0, float(self.size))
            now = time.monotonic()
            # allowed with nothing taken: the store failed and the limit fails open. A lease's worth
            # passes as if taken, so the requests waiting on this refill do not each wait out the
            # store's timeout in turn
            granted = int(taken) if taken or not decision.allowed else self.size
            held.tokens, held.expires = max(0, granted - 1), now + self.ttl
            held.refused_until = 0.0 if decision.allowed else now + decision.retry_after
            return decision
        finally:
            held.refill.set_result(None)
            held.refill = None
            if len(self._held) > self._purge_above:
                self._purge()

    def _purge(self) -> None:
        now = time.monotonic()
        for key in [k for k, h in self._held.items() if h.refill is None and now >= max(h.expires, h.refused_until)]:
            del self._held[key]
        self._purge_above = max(PURGE_ABOVE, 2 * len(self._held))
