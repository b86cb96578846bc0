"""The rules of an idempotency key, without I/O: which keys are valid, and the fingerprint that binds a
key to its first request (a card's number and CVV entering it only as HMACs)."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from payments_common.errors import bad_request

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"

# printable ASCII, space included, as Stripe allows; aiohttp has already stripped surrounding blanks
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")


def parse_key(values: list[str]) -> str | None:
    """The request's idempotency key (None without one), or a 400 naming the header."""
    if not values:
        return None
    if len(values) > 1:
        raise bad_request("send at most one Idempotency-Key header", HEADER)
    if _VALID_KEY.fullmatch(values[0]) is None:
        # the value is not echoed: it is the client's, and may be anything
        raise bad_request("Idempotency-Key must be 1 to 255 printable ASCII characters", HEADER)
    return values[0]


# The fingerprint is stored with the key for its whole life (`IDEMPOTENCY_KEY_TTL_HOURS`). A plain
# SHA-256 of a body with a card in it would be a hash of the card's number and CVV, and a weak one: with
# the BIN guessable, the last 4 digits shown and the Luhn digit fixed, about 10^8 number-and-CVV pairs
# remain, which a laptop hashes in seconds from a database dump. So these fields of `method` enter the
# fingerprint only as HMACs under a key the database never holds, and a body that is not JSON, where a
# card cannot be told apart, only as its HMAC. Everything else is hashed as it was: the fingerprints of
# card-free JSON bodies, which are all there were before cards, do not change.
#
# That key is the merchant's, derived from a server secret (the first PAYMENT_SIGNING_SECRET key, which
# lives in the environment) and the merchant id, never from one API key's secret: a merchant's keys are
# rotated, and a request replayed under its new key must meet the same fingerprint.
CARD_SECRET_FIELDS = frozenset({"number", "cvv"})
_FINGERPRINT_KEY_LABEL = b"order-svc idempotency fingerprint v2\x00"


def fingerprint_key(server_secret: bytes, merchant_id: str) -> bytes:
    """The merchant's fingerprint key: an HMAC of a label and the merchant id under the server secret, so the
    secret itself keys nothing stored, and each merchant's key is its own."""
    return hmac.new(server_secret, _FINGERPRINT_KEY_LABEL + merchant_id.encode(), hashlib.sha256).digest()


def fingerprint_keys(server_secret: bytes) -> Callable[[str], bytes]:
    """Each merchant's fingerprint key, by merchant id."""
    return partial(fingerprint_key, server_secret)


def _keyed(key: bytes, value: bytes) -> str:
    return "hmac-sha256:" + hmac.new(key, value, hashlib.sha256).hexdigest()


def _card_secrets_keyed(data: Any, key: bytes) -> Any:
    method = data.get("method") if isinstance(data, dict) else None
    if not isinstance(method, dict) or CARD_SECRET_FIELDS.isdisjoint(method):
        return data
    keyed = {
        name: _keyed(key, orjson.dumps(value)) if name in CARD_SECRET_FIELDS else value
        for name, value in method.items()
    }
    return {**data, "method": keyed}


def canonical_body(raw: bytes, key: bytes) -> bytes:
    """A JSON body with its keys sorted and no whitespace, so two spellings of one request match, and a
    card's number and CVV replaced by their HMACs under `key`; a body that is not JSON (or that orjson
    cannot write back) as its HMAC, marked apart."""
    if not raw:
        return b""
    try:
        return b"json:" + orjson.dumps(_card_secrets_keyed(orjson.loads(raw), key), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return b"raw:" + _keyed(key, raw).encode()


def fingerprint(method: str, path: str, raw_body: bytes, key: bytes) -> str:
    return f"{method} {path} sha256={hashlib.sha256(canonical_body(raw_body, key)).hexdigest()}"


@dataclass(frozen=True, slots=True)
class StoredKey:
    fingerprint: str
    done: bool
    response_status: int | None
    response_body: bytes | None
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    # this process's hold on the key: only it may store the answer
    claim_id: uuid.UUID
    # the logical request, the same for every process that takes the key over
    request_id: uuid.UUID
