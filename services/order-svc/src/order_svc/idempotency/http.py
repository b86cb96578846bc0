"""Idempotency keys on client POSTs, with Stripe's semantics, per merchant.

A POST that carries `Idempotency-Key` first claims the key in its own short statement
(`INSERT … ON CONFLICT DO NOTHING`), so a concurrent request with the same key finds the claim rather
than running a second time. The claim records the request's fingerprint (method, path, SHA-256 of the
canonical JSON body, where a card's number and CVV are HMACs: see `canonical_body`); the request then
runs, and its final answer (a 2xx or a 4xx: both say what this request does, every time) is stored and
replayed byte for byte to every later request with that key and fingerprint. A 5xx, or anything raised,
deletes the claim: nothing is known to have happened, so the client may retry with the same key.

The key is bound to the first request's fingerprint for `IDEMPOTENCY_KEY_TTL_HOURS`: another body or
route with it is a 422, never a silent replay of something else. A claim still in progress after
`STALE_CLAIM_SECONDS` belongs to a process that died (no request runs that long), and the next request
with the same fingerprint takes it over. Each claim has its own id, and the answer is stored only under
that id, so the slow original, should it still be alive, cannot overwrite the answer of its successor.

A takeover must not do twice what the dead request may already have done, so each key also has a
`request_id`: set when the key is first claimed, kept across takeovers, new only when an expired key is
claimed afresh. The middleware hands it to the handler (`REQUEST_ID`), and what a POST creates (an order,
a payment attempt, a refund) records it under a unique constraint, so the successor finds the resource
its predecessor made and answers it instead of making another.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from aiohttp import web

from order_svc.access.http import MERCHANT_ID
from order_svc.idempotency.domain import (
    HEADER,
    KEY_IN_USE,
    KEY_REUSED,
    REPLAYED_HEADER,
    Claim,
    StoredKey,
    fingerprint,
    parse_key,
)
from order_svc.idempotency.repository import claim, complete, release
from payments_common.errors import ApiError
from payments_common.http import Handler, json_response
from payments_common.logging import get_logger

log = get_logger(__name__)

# the key's request as one logical request, however many processes ran it: see the module's docstring
REQUEST_ID = web.RequestKey("idempotent_request_id", uuid.UUID)


def _replay(stored: StoredKey) -> web.Response:
    assert stored.response_status is not None and stored.response_body is not None
    headers = {REPLAYED_HEADER: "true"}
    if stored.content_type is not None:
        headers["Content-Type"] = stored.content_type
    return web.Response(body=stored.response_body, status=stored.response_status, headers=headers)


def _refusal(stored: StoredKey | None, fingerprint: str) -> web.Response:
    if stored is not None and stored.fingerprint != fingerprint:
        error = ApiError(
            422, KEY_REUSED, "this Idempotency-Key was already used with another request (method, path or body)"
        )
        return json_response(error.body(), 422)
    # rendered here rather than raised: the error middleware would drop Retry-After
    error = ApiError(409, KEY_IN_USE, "a request with this Idempotency-Key is still being processed; retry shortly")
    return json_response(error.body(), 409, {"Retry-After": "1"})


def _stored_body(response: web.StreamResponse) -> bytes | None:
    """The body of an answer worth keeping: a whole 2xx or 4xx response."""
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return None
    if 200 <= response.status < 300 or 400 <= response.status < 500:
        return response.body
    return None


async def _release_quietly(pool: asyncpg.Pool, merchant_id: str, key: str, claim_id: uuid.UUID) -> None:
    # a claim that cannot be released (the database is gone) is taken over once stale
    try:
        await release(pool, merchant_id, key, claim_id)
    except Exception as exc:
        log.warning("idempotency.release_failed", merchant_id=merchant_id, error=type(exc).__name__)


@dataclass(frozen=True, slots=True)
class Idempotency:
    ttl: timedelta
    # the pool exists only once the app has started
    pool_of: Callable[[web.Application], asyncpg.Pool]
    # merchant id -> the key of its fingerprints' HMACs (`fingerprint_keys`)
    fingerprint_key: Callable[[str], bytes]


IDEMPOTENCY = web.AppKey("idempotency", Idempotency)


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    merchant_id = request.get(MERCHANT_ID)
    # a public route, or no route at all (its 404 or 405 is not worth a key)
    if request.method != "POST" or merchant_id is None or request.match_info.http_exception is not None:
        return await handler(request)
    key = parse_key(request.headers.getall(HEADER, []))
    if key is None:
        return await handler(request)
    config = request.app[IDEMPOTENCY]
    pool = config.pool_of(request.app)
    this = fingerprint(request.method, request.path_qs, await request.read(), config.fingerprint_key(merchant_id))
    claimed = await claim(pool, merchant_id, key, this, config.ttl)
    if not isinstance(claimed, Claim):
        if claimed is not None and claimed.done and claimed.fingerprint == this:
            return _replay(claimed)
        return _refusal(claimed, this)
    request[REQUEST_ID] = claimed.request_id
    claim_id = claimed.claim_id
    try:
        response = await handler(request)
    except ApiError as error:
        if error.status >= 500:
            await _release_quietly(pool, merchant_id, key, claim_id)
            raise
        # rendered here, as the error middleware would, so that the answer stored is the one sent
        response = json_response(error.body(), error.status)
    except BaseException:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(_release_quietly(pool, merchant_id, key, claim_id))
        raise
    body = _stored_body(response)
    if body is None:
        await _release_quietly(pool, merchant_id, key, claim_id)
        return response
    try:
        content_type = response.headers.get("Content-Type")
        if not await complete(pool, merchant_id, key, claim_id, response.status, body, content_type):
            log.warning("idempotency.claim_lost", merchant_id=merchant_id, path=request.path)
    except Exception as exc:
        # the request's effect happened: its answer still goes out; the claim is taken over once stale
        log.warning("idempotency.store_failed", merchant_id=merchant_id, error=type(exc).__name__)
    return response


def install(
    app: web.Application,
    ttl: timedelta,
    pool_of: Callable[[web.Application], asyncpg.Pool],
    *,
    fingerprint_key: Callable[[str], bytes],
) -> None:
    """Appended to the middlewares, so it runs inside authentication and the per-key limit: a key is
    scoped by the merchant they establish, and a refused request never claims one."""
    app[IDEMPOTENCY] = Idempotency(ttl=ttl, pool_of=pool_of, fingerprint_key=fingerprint_key)
    app.middlewares.append(idempotency_middleware)
