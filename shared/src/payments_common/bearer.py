"""Bearer tokens in front of every route under a path prefix (payment-svc's `/admin/` and `/internal/`).

The answers name the setting, never a value: a wrong token is not echoed, and the comparison takes
the same time however much of a guess was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from payments_common.errors import UNAUTHORIZED, ApiError
from payments_common.http import Handler

AUTHORIZATION = "Authorization"
FORBIDDEN = "FORBIDDEN"


def bearer_token(header: str | None) -> bytes | None:
    """The token of an `Authorization: Bearer <token>` header, or None for any other header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    # aiohttp hands header bytes that are not UTF-8 over as surrogates: back to those bytes, which match
    # no token, rather than an encoding error and a 500
    return value.strip().encode("utf-8", "surrogateescape")


def token_accepted(given: bytes | None, accepted: Sequence[bytes]) -> bool:
    """Constant time per token, and every token is compared: the timing says neither how much of a guess
    was right nor which of several tokens (while one is rotated) it matched."""
    if given is None:
        return False
    matched = False
    for token in accepted:
        matched |= hmac.compare_digest(given, token)
    return matched


def bearer_middleware(prefix: str, accepted: Sequence[bytes], *, api: str, setting: str) -> Any:
    """Every request under `prefix` needs one of `accepted` as its bearer token: 401 without it. With no
    token configured the API is closed to everyone (403), so a deployment that forgot one exposes nothing."""
    tokens = tuple(accepted)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(prefix):
            if not tokens:
                raise ApiError(403, FORBIDDEN, f"the {api} API is disabled: {setting} is not set")
            if not token_accepted(bearer_token(request.headers.get(AUTHORIZATION)), tokens):
                raise ApiError(401, UNAUTHORIZED, f"a valid {api} bearer token is required")
        return await handler(request)

    return middleware
