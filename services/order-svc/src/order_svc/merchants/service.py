"""The merchants' use cases: create, read, create and revoke keys, and seed API_KEYS' merchants at start.

A key's secret exists in clear only in `KeyCreated`, the answer of the call that made it: it is stored as
its digest (`domain.secret_hash`) and never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from order_svc.merchants import domain
from order_svc.merchants.domain import ApiKey, Merchant
from order_svc.merchants.repository import MerchantRepository
from order_svc.merchants.sealing import Sealer
from payments_common.config import ApiKey as ConfiguredKey
from payments_common.errors import ApiError, not_found
from payments_common.logging import get_logger
from payments_common.uow import ReadSnapshot, UnitOfWork

log = get_logger(__name__)

KEY_ALREADY_REVOKED = "KEY_ALREADY_REVOKED"
# a generated id colliding is a 1 in 62^14 event; a few tries make it a non-event
_ID_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class KeyCreated:
    key: ApiKey
    secret: str


async def create_merchant(pool: asyncpg.Pool, name: str, alert_email: str | None) -> Merchant:
    for attempt in range(_ID_ATTEMPTS):
        try:
            async with UnitOfWork(pool) as uow:
                merchant = await uow.repo(MerchantRepository).add(domain.new_merchant_id(), name, alert_email)
        except asyncpg.UniqueViolationError:
            if attempt == _ID_ATTEMPTS - 1:
                raise
            continue
        log.info("merchant.created", merchant_id=merchant.id)
        return merchant
    raise AssertionError("unreachable")


async def merchants(pool: asyncpg.Pool, limit: int) -> list[Merchant]:
    async with ReadSnapshot(pool) as uow:
        return await uow.repo(MerchantRepository).page(limit)


async def merchant(pool: asyncpg.Pool, merchant_id: str) -> Merchant:
    async with ReadSnapshot(pool) as uow:
        found = await uow.repo(MerchantRepository).get(merchant_id)
    if found is None:
        raise not_found("merchant")
    return found


async def create_key(pool: asyncpg.Pool, merchant_id: str, sealer: Sealer | None = None) -> KeyCreated:
    """With `sealer` (KEY_SEALING_KEY), the secret is kept sealed too, so the merchant's callbacks can be
    signed with it (`merchants.signing`)."""
    for attempt in range(_ID_ATTEMPTS):
        secret = domain.new_secret()
        key_id = domain.new_key_id()
        sealed = sealer.seal(key_id, secret) if sealer is not None else None
        try:
            async with UnitOfWork(pool) as uow:
                repo = uow.repo(MerchantRepository)
                if await repo.get(merchant_id) is None:
                    raise not_found("merchant")
                key = await repo.add_key(key_id, merchant_id, domain.secret_hash(secret), sealed)
        except asyncpg.UniqueViolationError:
            if attempt == _ID_ATTEMPTS - 1:
                raise
            continue
        log.info("api_key.created", merchant_id=merchant_id, key_id=key.key_id)
        return KeyCreated(key, secret)
    raise AssertionError("unreachable")


async def keys(pool: asyncpg.Pool, merchant_id: str) -> list[ApiKey]:
    async with ReadSnapshot(pool) as uow:
        repo = uow.repo(MerchantRepository)
        if await repo.get(merchant_id) is None:
            raise not_found("merchant")
        return await repo.keys_of(merchant_id)


async def revoke_key(pool: asyncpg.Pool, key_id: str) -> ApiKey:
    """Refused by every instance within `access.keyring.CACHE_SECONDS` of the commit."""
    async with UnitOfWork(pool) as uow:
        repo = uow.repo(MerchantRepository)
        key = await repo.lock_key(key_id)
        if key is None:
            raise not_found("API key")
        if key.revoked_at is not None:
            raise ApiError(409, KEY_ALREADY_REVOKED, "this API key is already revoked")
        revoked = await repo.revoke_key(key_id)
    log.info("api_key.revoked", merchant_id=revoked.merchant_id, key_id=key_id)
    return revoked


async def seed(pool: asyncpg.Pool, api_keys: Mapping[str, ConfiguredKey], sealer: Sealer | None = None) -> int:
    """One merchant per API_KEYS entry, with that key, under the id its rows already carry (the key id:
    `ConfiguredKey.merchant_id`). Idempotent, and safe for replicas starting together; a secret changed in
    API_KEYS replaces the stored digest. How many merchants or keys it wrote."""
    written = 0
    async with UnitOfWork(pool) as uow:
        repo = uow.repo(MerchantRepository)
        for key in api_keys.values():
            secret = key.secret.get_secret_value()
            sealed = sealer.seal(key.key_id, secret) if sealer is not None else None
            written += await repo.seed(key.merchant_id, key.key_id, domain.secret_hash(secret), sealed)
    if written:
        log.info("merchants.seeded", written=written, keys=len(api_keys))
    return written
