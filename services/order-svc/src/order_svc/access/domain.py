"""Checking an `Authorization: Basic` header against the keys of API_KEYS; each key is one merchant."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from payments_common.config import ApiKey
from payments_common.errors import UNAUTHORIZED, ApiError

# compared against when the key id is unknown, so a wrong id costs the same time as a wrong secret
_DUMMY_SECRET = b"\x00" * 32


def unauthorized() -> ApiError:
    return ApiError(401, UNAUTHORIZED, "missing or invalid API credentials")


def authenticate(header: str | None, keys: Mapping[str, ApiKey]) -> str:
    """The merchant id of a valid `Authorization: Basic` header, or a 401."""
    if not header:
        raise unauthorized()
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise unauthorized()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise unauthorized() from None
    key_id, sep, secret = decoded.partition(":")
    if not sep:
        raise unauthorized()
    key = keys.get(key_id)
    expected = key.secret.get_secret_value().encode() if key else _DUMMY_SECRET
    matches = hmac.compare_digest(expected, secret.encode())
    if key is None or not matches:
        raise unauthorized()
    return key.merchant_id
