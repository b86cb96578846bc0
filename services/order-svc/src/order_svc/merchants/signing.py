"""The secret a merchant's callbacks are signed with: its newest active API key's, unsealed.

Razorpay's payment-link callback and subscription payment signatures are HMAC-SHA256 keyed by the key
secret the merchant holds; they are made when no request of the merchant's is in hand, so the secret comes
from its sealed copy (`merchants.sealing`), or, for a key seeded from API_KEYS and not sealed (no sealing
key configured), from the environment where it already is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg

from order_svc.merchants.domain import SealedKey
from order_svc.merchants.repository import active_key, newest_active_key
from order_svc.merchants.sealing import Sealer, UnsealError


class NoSigningSecret(Exception):
    """The merchant has no key whose secret can be had; the message names ids only, never a secret."""


@dataclass(frozen=True, slots=True)
class KeySecrets:
    pool: asyncpg.Pool
    # None: KEY_SEALING_KEY is not set, so keys are stored unsealed and only API_KEYS' secrets are known
    sealer: Sealer | None = None
    # API_KEYS' key id -> secret
    configured: Mapping[str, str] = field(default_factory=dict)

    def seal(self, key_id: str, secret: str) -> bytes | None:
        return self.sealer.seal(key_id, secret) if self.sealer is not None else None

    async def signing_secret(self, merchant_id: str) -> str:
        """The secret of the merchant's newest key not revoked: the one its callbacks' signatures use."""
        key = await newest_active_key(self.pool, merchant_id)
        if key is None:
            raise NoSigningSecret(f"merchant {merchant_id} has no active API key")
        return self._secret(merchant_id, key)

    async def key_secret(self, key_id: str) -> tuple[str, str]:
        """The merchant and the secret of the key `key_id`, which must not be revoked."""
        found = await active_key(self.pool, key_id)
        if found is None:
            raise NoSigningSecret(f"no active API key {key_id}")
        merchant_id, key = found
        return merchant_id, self._secret(merchant_id, key)

    def _secret(self, merchant_id: str, key: SealedKey) -> str:
        if key.secret_sealed is not None and self.sealer is not None:
            try:
                return self.sealer.unseal(key.key_id, key.secret_sealed)
            except UnsealError as error:
                raise NoSigningSecret(str(error)) from None
        configured = self.configured.get(key.key_id)
        if configured is not None:
            return configured
        reason = "no KEY_SEALING_KEY is configured" if self.sealer is None else "its secret was never sealed"
        raise NoSigningSecret(f"the secret of {key.key_id}, merchant {merchant_id}'s key, is unknown: {reason}")
