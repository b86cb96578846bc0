"""HTTP Basic auth against stored keys: a right secret of a live key proves its merchant, everything else
is a 401; and the per-instance cache of keys, on a clock the test moves."""

from __future__ import annotations

import base64

import pytest

from order_svc.access.domain import check, parse_basic
from order_svc.access.keyring import KeyRing
from order_svc.merchants import domain
from order_svc.merchants.domain import StoredKey
from payments_common.config import ConfigError, parse_api_keys
from payments_common.errors import ApiError

KEYS = parse_api_keys("rzp_a:secret-a-123456, rzp_b:secret-b-123456")
STORED = {
    key.key_id: StoredKey(key.key_id, key.merchant_id, domain.secret_hash(key.secret.get_secret_value()), False)
    for key in KEYS.values()
}
# a second key of merchant rzp_a, and a revoked one
STORED["rzp_test_second"] = StoredKey("rzp_test_second", "rzp_a", domain.secret_hash("second-secret"), False)
STORED["rzp_test_revoked"] = StoredKey("rzp_test_revoked", "rzp_a", domain.secret_hash("revoked-secret"), True)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def authenticate(header: str | None) -> str:
    key_id, secret = parse_basic(header)
    return check(key_id, secret, STORED.get(key_id)).merchant_id


def test_each_key_authenticates_as_its_merchant_and_two_keys_as_the_same_one() -> None:
    assert authenticate(_basic("rzp_a", "secret-a-123456")) == "rzp_a"
    assert authenticate(_basic("rzp_b", "secret-b-123456")) == "rzp_b"
    assert authenticate(_basic("rzp_test_second", "second-secret")) == "rzp_a"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer abc",
        "Basic",
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        _basic("rzp_a", "secret-b-123456"),  # another merchant's secret
        _basic("rzp_unknown", "secret-a-123456"),
        _basic("rzp_a", ""),
        _basic("rzp_a", "sécret"),
        _basic("rzp_test_revoked", "revoked-secret"),  # the right secret of a revoked key
    ],
)
def test_anything_else_is_401_without_echoing_the_secret(header: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        authenticate(header)
    assert caught.value.status == 401 and caught.value.code == "UNAUTHORIZED"
    assert "secret" not in caught.value.description


def test_the_credential_hides_its_secret() -> None:
    credential = check("rzp_test_second", "second-secret", STORED["rzp_test_second"])
    assert credential.secret.get_secret_value() == "second-secret"
    assert "second-secret" not in repr(credential)


def test_generated_ids_and_secrets_have_their_shapes_and_the_digest_is_not_the_secret() -> None:
    assert domain.new_merchant_id().startswith("merch_") and len(domain.new_merchant_id()) == 6 + 14
    assert domain.new_key_id().startswith("rzp_test_") and len(domain.new_key_id()) == 9 + 14
    secret = domain.new_secret()
    assert len(secret) == 43 and secret.isalnum() and secret != domain.new_secret()
    digest = domain.secret_hash(secret)
    assert len(digest) == 32 and secret.encode() not in digest
    assert domain.secret_matches(secret, digest)
    assert not domain.secret_matches(secret + "x", digest) and not domain.secret_matches(secret, None)


@pytest.mark.parametrize("raw", ["", " , ", "justavaluewithnocolon", ":hiddenvalue", "keyidonly:"])
def test_malformed_api_keys_are_a_configuration_error_that_does_not_show_the_value(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_api_keys(raw)
    for part in raw.replace(":", ",").split(","):
        if part.strip():
            assert part.strip() not in str(caught.value)


class Rows:
    """The table as the keyring's loader sees it, counting the queries."""

    def __init__(self) -> None:
        self.rows: dict[str, StoredKey] = {}
        self.queries = 0

    async def load(self, key_id: str) -> StoredKey | None:
        self.queries += 1
        return self.rows.get(key_id)


async def test_the_keyring_reads_each_key_once_per_ttl_and_sees_changes_after_it() -> None:
    rows, now = Rows(), [100.0]
    ring = KeyRing(rows.load, ttl_seconds=2.0, clock=lambda: now[0])
    rows.rows["k1"] = StoredKey("k1", "m", domain.secret_hash("s"), False)
    assert (await ring.find("k1")) == rows.rows["k1"]
    now[0] += 1.9
    assert (await ring.find("k1")) is not None and rows.queries == 1  # cached: no query
    rows.rows["k1"] = StoredKey("k1", "m", domain.secret_hash("s"), True)  # revoked meanwhile
    rows.rows["k2"] = StoredKey("k2", "m", domain.secret_hash("t"), False)
    assert (await ring.find("k2")) is not None  # a key never seen is read at once
    now[0] += 0.2
    found = await ring.find("k1")
    assert found is not None and found.revoked and rows.queries == 3


async def test_unknown_ids_are_cached_as_absent_and_the_cache_is_bounded() -> None:
    rows, now = Rows(), [0.0]
    ring = KeyRing(rows.load, ttl_seconds=2.0, clock=lambda: now[0], max_entries=3)
    assert await ring.find("nope") is None and await ring.find("nope") is None
    assert rows.queries == 1
    rows.rows["nope"] = StoredKey("nope", "m", domain.secret_hash("s"), False)
    now[0] += 2.0
    assert await ring.find("nope") is not None  # a key created after a miss works once the miss expires
    for n in range(10):
        await ring.find(f"guess-{n}")
    assert len(ring._entries) <= 3


async def test_a_ring_of_configured_keys_authenticates_as_api_keys_says() -> None:
    ring = KeyRing.of(KEYS)
    found = await ring.find("rzp_b")
    assert found is not None and check("rzp_b", "secret-b-123456", found).merchant_id == "rzp_b"
    assert await ring.find("rzp_c") is None
