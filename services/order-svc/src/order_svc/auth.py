"""HTTP Basic auth with the keys of API_KEYS; each key is one merchant."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from aiohttp import web

from payments_common.config import ApiKey
from payments_common.errors import UNAUTHORIZED, ApiError

MERCHANT_ID = web.RequestKey("merchant_id", str)

# compared against when the key id is unknown, so a wrong id costs the same time as a wrong secret
_DUMMY_SECRET = b"\x00" * 32


def _unauthorized() -> ApiError:
    return ApiError(401, UNAUTHORIZED, "missing or invalid API credentials")


def authenticate(header: str | None, keys: Mapping[str, ApiKey]) -> str:
    """The merchant id of a valid `Authorization: Basic` header, or a 401."""
    if not header:
        raise _unauthorized()
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise _unauthorized()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _unauthorized() from None
    key_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _unauthorized()
    key = keys.get(key_id)
    expected = key.secret.get_secret_value().encode() if key else _DUMMY_SECRET
    matches = hmac.compare_digest(expected, secret.encode())
    if key is None or not matches:
        raise _unauthorized()
    return key.merchant_id


def merchant_of(request: web.Request) -> str:
    merchant = request.get(MERCHANT_ID)
    if not isinstance(merchant, str):
        raise _unauthorized()
    return merchant
