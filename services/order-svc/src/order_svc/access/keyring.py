"""The API keys as each instance sees them: `api_keys` rows cached for `CACHE_SECONDS`.

Why a short TTL and no invalidation message: a revoked key must be refused, and a new one accepted, within
5 seconds on every instance. A cache entry older than `CACHE_SECONDS` (2 s) is read again, so whatever the
admin API commits is seen by every instance within that bound plus one query, with nothing else to keep
alive. PostgreSQL LISTEN/NOTIFY would make it near-instant, but it needs a dedicated connection per
instance, and a notification missed while that connection is being re-established would leave a revoked
key accepted until something else evicts it: the bound would then rest on the reconnection logic being
right. The TTL's price is one primary-key lookup per key in use, per instance, every 2 s.

Unknown key ids are cached too (as absent), so a client repeating a wrong id costs no query each time;
the cache is bounded, so a stream of made-up ids cannot grow it without end.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from order_svc.merchants.domain import StoredKey, secret_hash
from payments_common.config import ApiKey as ConfiguredKey

CACHE_SECONDS = 2.0
MAX_ENTRIES = 10_000

Load = Callable[[str], Awaitable[StoredKey | None]]


class KeyRing:
    def __init__(
        self,
        load: Load,
        ttl_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._load = load
        self._ttl = ttl_seconds
        self._clock = clock
        self._max = max_entries
        # key id -> (read at, the row or None)
        self._entries: dict[str, tuple[float, StoredKey | None]] = {}

    async def find(self, key_id: str) -> StoredKey | None:
        now = self._clock()
        cached = self._entries.get(key_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        key = await self._load(key_id)
        if len(self._entries) >= self._max:
            self._evict(now)
        self._entries[key_id] = (self._clock(), key)
        return key

    def _evict(self, now: float) -> None:
        self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self._ttl}
        if len(self._entries) >= self._max:
            self._entries.clear()

    @classmethod
    def of(cls, keys: Mapping[str, ConfiguredKey]) -> KeyRing:
        """A fixed set of keys, each its own merchant as API_KEYS names them: for tests without a database."""
        stored = {
            key.key_id: StoredKey(key.key_id, key.merchant_id, secret_hash(key.secret.get_secret_value()), False)
            for key in keys.values()
        }

        async def load(key_id: str) -> StoredKey | None:
            return stored.get(key_id)

        return cls(load)
