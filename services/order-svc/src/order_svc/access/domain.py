"""Checking an `Authorization: Basic key_id:secret` header against a stored key: the identity it proves is
the key's merchant, whichever of the merchant's keys it was."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from pydantic import SecretStr

from order_svc.merchants.domain import StoredKey, secret_matches
from payments_common.errors import UNAUTHORIZED, ApiError


def unauthorized() -> ApiError:
    return ApiError(401, UNAUTHORIZED, "missing or invalid API credentials")


@dataclass(frozen=True, slots=True)
class Credential:
    """A request's proven key. The secret is kept (hidden from repr) for what Razorpay signs with the key's
    own secret (the /v1 checkout signature); it is never stored or logged."""

    key_id: str
    merchant_id: str
    secret: SecretStr


def parse_basic(header: str | None) -> tuple[str, str]:
    """The key id and secret of a `Basic` header, or a 401."""
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
    return key_id, secret


def check(key_id: str, secret: str, key: StoredKey | None) -> Credential:
    """The credential of a right secret for a live key; a 401 for an unknown, revoked or wrong one, after
    the same constant-time comparison in every case."""
    live = key if key is not None and not key.revoked else None
    if not secret_matches(secret, live.secret_hash if live is not None else None) or live is None:
        raise unauthorized()
    return Credential(key_id, live.merchant_id, SecretStr(secret))
