"""A merchant and its API keys without I/O: their ids, a key's secret and the digest it is kept as, and the
constant-time check of a presented secret against that digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

MERCHANT_PREFIX = "merch_"
KEY_PREFIX = "rzp_test_"
ID_CHARS = 14
# 32 random bytes, as Razorpay's own secrets are far beyond guessing: 43 base62 characters carry them
SECRET_CHARS = 43
_BASE62 = string.digits + string.ascii_letters


def _base62(length: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def new_merchant_id() -> str:
    return MERCHANT_PREFIX + _base62(ID_CHARS)


def new_key_id() -> str:
    return KEY_PREFIX + _base62(ID_CHARS)


def new_secret() -> str:
    """62^43 > 2^256: at least 32 random bytes' worth."""
    return _base62(SECRET_CHARS)


def secret_hash(secret: str) -> bytes:
    """What is stored of a secret. A plain SHA-256 suffices: a generated secret has 256 random bits, so no
    dictionary or brute force reaches it from the digest, and a slow KDF would only slow every request."""
    return hashlib.sha256(secret.encode()).digest()


# compared against when the key id is unknown (or revoked), so that costs the same as a wrong secret
_DUMMY_HASH = secret_hash("")


def secret_matches(presented: str, stored: bytes | None) -> bool:
    """Whether `presented` is the secret of the digest `stored`; the same work when there is none."""
    matches = hmac.compare_digest(secret_hash(presented), stored if stored is not None else _DUMMY_HASH)
    return stored is not None and matches


@dataclass(frozen=True, slots=True)
class Merchant:
    id: str
    name: str
    alert_email: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as listed: never its secret, which exists only in the answer that created it."""

    key_id: str
    merchant_id: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredKey:
    """What authentication needs of a key: its merchant, its secret's digest, whether it is revoked."""

    key_id: str
    merchant_id: str
    secret_hash: bytes
    revoked: bool


@dataclass(frozen=True, slots=True)
class SealedKey:
    """A key's sealed secret (`merchants.sealing`); None for a key made while no sealing key was set."""

    key_id: str
    secret_sealed: bytes | None
