"""SQL of `merchants` and `api_keys`."""

from __future__ import annotations

import asyncpg

from order_svc.merchants.domain import ApiKey, Merchant, SealedKey, StoredKey

_MERCHANT = "id, name, alert_email, created_at"
_KEY = "key_id, merchant_id, created_at, revoked_at"


class MerchantRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, merchant_id: str, name: str, alert_email: str | None) -> Merchant:
        row = await self._conn.fetchrow(
            f"INSERT INTO merchants (id, name, alert_email) VALUES ($1, $2, $3) RETURNING {_MERCHANT}",
            merchant_id,
            name,
            alert_email,
        )
        assert row is not None
        return Merchant(**dict(row))

    async def get(self, merchant_id: str) -> Merchant | None:
        row = await self._conn.fetchrow(f"SELECT {_MERCHANT} FROM merchants WHERE id = $1", merchant_id)
        return Merchant(**dict(row)) if row is not None else None

    async def page(self, limit: int) -> list[Merchant]:
        rows = await self._conn.fetch(f"SELECT {_MERCHANT} FROM merchants ORDER BY created_at, id LIMIT $1", limit)
        return [Merchant(**dict(row)) for row in rows]

    async def add_key(
        self, key_id: str, merchant_id: str, secret_hash: bytes, secret_sealed: bytes | None = None
    ) -> ApiKey:
        row = await self._conn.fetchrow(
            f"""INSERT INTO api_keys (key_id, merchant_id, secret_hash, secret_sealed) VALUES ($1, $2, $3, $4)
                RETURNING {_KEY}""",
            key_id,
            merchant_id,
            secret_hash,
            secret_sealed,
        )
        assert row is not None
        return ApiKey(**dict(row))

    async def keys_of(self, merchant_id: str) -> list[ApiKey]:
        rows = await self._conn.fetch(
            f"SELECT {_KEY} FROM api_keys WHERE merchant_id = $1 ORDER BY created_at, key_id", merchant_id
        )
        return [ApiKey(**dict(row)) for row in rows]

    async def lock_key(self, key_id: str) -> ApiKey | None:
        row = await self._conn.fetchrow(f"SELECT {_KEY} FROM api_keys WHERE key_id = $1 FOR UPDATE", key_id)
        return ApiKey(**dict(row)) if row is not None else None

    async def revoke_key(self, key_id: str) -> ApiKey:
        row = await self._conn.fetchrow(
            f"UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 RETURNING {_KEY}", key_id
        )
        assert row is not None
        return ApiKey(**dict(row))

    async def seed(self, merchant_id: str, key_id: str, secret_hash: bytes, secret_sealed: bytes | None = None) -> bool:
        """The merchant of an API_KEYS entry and its key, made once; a changed secret replaces the stored
        digest and sealed secret, and a key stored unsealed is sealed once a sealing key is configured (a
        revoked key stays revoked). True when anything was written."""
        merchant = await self._conn.fetchval(
            "INSERT INTO merchants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING RETURNING 1", merchant_id
        )
        key = await self._conn.fetchval(
            """INSERT INTO api_keys (key_id, merchant_id, secret_hash, secret_sealed) VALUES ($1, $2, $3, $4)
               ON CONFLICT (key_id) DO UPDATE
                   SET secret_hash = EXCLUDED.secret_hash, secret_sealed = EXCLUDED.secret_sealed
                   WHERE api_keys.merchant_id = EXCLUDED.merchant_id
                     AND (api_keys.secret_hash <> EXCLUDED.secret_hash
                          OR (api_keys.secret_sealed IS NULL AND EXCLUDED.secret_sealed IS NOT NULL))
               RETURNING 1""",
            key_id,
            merchant_id,
            secret_hash,
            secret_sealed,
        )
        return merchant is not None or key is not None


async def newest_active_key(conn: asyncpg.Connection | asyncpg.Pool, merchant_id: str) -> SealedKey | None:
    """The merchant's newest key not revoked, with its sealed secret: the key that signs its callbacks."""
    row = await conn.fetchrow(
        """SELECT key_id, secret_sealed FROM api_keys WHERE merchant_id = $1 AND revoked_at IS NULL
            ORDER BY created_at DESC, key_id DESC LIMIT 1""",
        merchant_id,
    )
    return SealedKey(**dict(row)) if row is not None else None


async def active_key(conn: asyncpg.Connection | asyncpg.Pool, key_id: str) -> tuple[str, SealedKey] | None:
    """A key not revoked, with its merchant and its sealed secret."""
    row = await conn.fetchrow(
        "SELECT merchant_id, key_id, secret_sealed FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL", key_id
    )
    return (row["merchant_id"], SealedKey(row["key_id"], row["secret_sealed"])) if row is not None else None


async def stored_key(conn: asyncpg.Connection | asyncpg.Pool, key_id: str) -> StoredKey | None:
    """One statement on the pool, for authentication: no transaction to open for it."""
    row = await conn.fetchrow(
        """SELECT key_id, merchant_id, secret_hash, revoked_at IS NOT NULL AS revoked
             FROM api_keys WHERE key_id = $1""",
        key_id,
    )
    return StoredKey(**dict(row)) if row is not None else None
