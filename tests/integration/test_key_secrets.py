"""The merchants' key secrets on the real PostgreSQL: a key made through the admin use case is stored
sealed (never in clear) and its secret is what `signing_secret` answers; the newest active key signs, a
revoked one never does; API_KEYS' keys are sealed when seeded, and without a sealing key their secret comes
from the environment; a key nobody can open is a clear refusal, not a wrong secret."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from pydantic import SecretStr

from order_svc.deps import Deps
from order_svc.merchants import service
from order_svc.merchants.sealing import Sealer, new_sealing_key, parse_sealing_keys
from order_svc.merchants.signing import KeySecrets, NoSigningSecret
from payments_common.config import ApiKey

from .conftest import migrated_schema

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "payments_common", "order_svc") as (_, pool):
        yield pool


@pytest.fixture
def sealing_key() -> str:
    return new_sealing_key()


@pytest.fixture
def sealer(sealing_key: str) -> Sealer:
    return Sealer(parse_sealing_keys(sealing_key))


async def test_new_key_is_sealed_and_signs_until_revoked(pool: asyncpg.Pool, sealer: Sealer) -> None:
    merchant = await service.create_merchant(pool, "Acme", None)
    secrets = KeySecrets(pool, sealer)
    first = await service.create_key(pool, merchant.id, sealer)
    stored = await pool.fetchval("SELECT secret_sealed FROM api_keys WHERE key_id = $1", first.key.key_id)
    assert stored is not None and first.secret.encode() not in stored
    assert await secrets.signing_secret(merchant.id) == first.secret

    second = await service.create_key(pool, merchant.id, sealer)
    assert await secrets.signing_secret(merchant.id) == second.secret  # the newest signs

    await service.revoke_key(pool, second.key.key_id)
    assert await secrets.signing_secret(merchant.id) == first.secret  # a revoked key never does

    await service.revoke_key(pool, first.key.key_id)
    with pytest.raises(NoSigningSecret, match="no active API key"):
        await secrets.signing_secret(merchant.id)


async def test_only_the_right_sealing_key_opens_it(pool: asyncpg.Pool, sealer: Sealer, sealing_key: str) -> None:
    merchant = await service.create_merchant(pool, "Acme", None)
    created = await service.create_key(pool, merchant.id, sealer)
    other = KeySecrets(pool, Sealer(parse_sealing_keys(new_sealing_key())))
    with pytest.raises(NoSigningSecret) as raised:
        await other.signing_secret(merchant.id)
    assert created.secret not in str(raised.value)
    # after a rotation the old sealing key, kept second, still opens it
    rotated = Sealer(parse_sealing_keys(f"{new_sealing_key()},{sealing_key}"))
    assert await KeySecrets(pool, rotated).signing_secret(merchant.id) == created.secret


async def test_seeded_keys_are_sealed_or_read_from_the_environment(pool: asyncpg.Pool, sealer: Sealer) -> None:
    configured = {"rzp_test_seeded": ApiKey("rzp_test_seeded", SecretStr("seeded-secret-0123456789"))}
    await service.seed(pool, configured)  # no sealing key yet: digest only
    assert await pool.fetchval("SELECT secret_sealed FROM api_keys WHERE key_id = 'rzp_test_seeded'") is None
    with pytest.raises(NoSigningSecret, match="no KEY_SEALING_KEY"):
        await KeySecrets(pool).signing_secret("rzp_test_seeded")
    from_environment = KeySecrets(pool, None, {"rzp_test_seeded": "seeded-secret-0123456789"})
    assert await from_environment.signing_secret("rzp_test_seeded") == "seeded-secret-0123456789"

    assert await service.seed(pool, configured, sealer) == 1  # sealed once a sealing key is configured
    assert await service.seed(pool, configured, sealer) == 0  # and not rewritten at every start
    assert await KeySecrets(pool, sealer).signing_secret("rzp_test_seeded") == "seeded-secret-0123456789"


async def test_deps_without_key_secrets_refuse(pool: asyncpg.Pool) -> None:
    deps = Deps(pool=pool, payments=None)  # type: ignore[arg-type]
    with pytest.raises(NoSigningSecret):
        await deps.signing_secret("merch_x")
