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
import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from order_svc.auth import MERCHANT_ID
from payments_common.config import ApiKey
from payments_common.errors import ApiError, bad_request
from payments_common.http import Handler, json_response
from payments_common.logging import get_logger

log = get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"

# printable ASCII, space included, as Stripe allows; aiohttp has already stripped surrounding blanks
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")
# well past the longest a request may run: the payment-svc call (PAYMENT_SVC_TIMEOUT_SECONDS, 15 s by
# default) and a few database statements
STALE_CLAIM_SECONDS = 60.0
# a request that keeps finding the key claimed and then gone (claims released in between) gives up
_CLAIM_ATTEMPTS = 3
# the key's request as one logical request, however many processes ran it: see the module's docstring
REQUEST_ID = web.RequestKey("idempotent_request_id", uuid.UUID)
PURGE_INTERVAL_SECONDS = 3600.0
PURGE_BATCH_SIZE = 5_000


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
# fingerprint only as HMACs under a key the database never holds (derived from the merchant's API secret,
# which lives in the environment), and a body that is not JSON, where a card cannot be told apart, only
# as its HMAC. Everything else is hashed as it was: the fingerprints of card-free JSON bodies, which are
# all there were before cards, do not change.
CARD_SECRET_FIELDS = frozenset({"number", "cvv"})
_FINGERPRINT_KEY_LABEL = b"order-svc idempotency fingerprint v1"


def fingerprint_key(api_secret: str) -> bytes:
    """The merchant's fingerprint key: derived, so the API secret itself never keys anything stored."""
    return hmac.new(api_secret.encode(), _FINGERPRINT_KEY_LABEL, hashlib.sha256).digest()


def fingerprint_keys(api_keys: Mapping[str, ApiKey]) -> Callable[[str], bytes]:
    """Each merchant's fingerprint key, by merchant id."""
    keys = {key.merchant_id: fingerprint_key(key.secret.get_secret_value()) for key in api_keys.values()}
    return keys.__getitem__


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


async def claim(
    pool: asyncpg.Pool, merchant_id: str, key: str, fingerprint: str, ttl: timedelta
) -> Claim | StoredKey | None:
    """Our claim, or the key's row as another request left it (None: it kept vanishing)."""
    for _ in range(_CLAIM_ATTEMPTS):
        claim_id = uuid.uuid4()
        inserted = await pool.execute(
            """INSERT INTO idempotency_keys (merchant_id, key, fingerprint, status, claim_id, request_id, expires_at)
               VALUES ($1, $2, $3, 'in_progress', $4, $4, now() + $5::interval)
               ON CONFLICT DO NOTHING""",
            merchant_id,
            key,
            fingerprint,
            claim_id,
            ttl,
        )
        if inserted == "INSERT 0 1":
            return Claim(claim_id, claim_id)
        # an expired key is free again, as a new request; a claim left by a dead request is free to the
        # same request, which carries on as that request (its request_id)
        request_id = await pool.fetchval(
            """UPDATE idempotency_keys
               SET fingerprint = $3, status = 'in_progress', claim_id = $4, claimed_at = now(),
                   request_id = CASE WHEN expires_at <= now() THEN $4 ELSE request_id END,
                   response_status = NULL, response_body = NULL, content_type = NULL,
                   created_at = CASE WHEN expires_at <= now() THEN now() ELSE created_at END,
                   expires_at = CASE WHEN expires_at <= now() THEN now() + $5::interval ELSE expires_at END
               WHERE merchant_id = $1 AND key = $2
                 AND (expires_at <= now()
                      OR (status = 'in_progress' AND fingerprint = $3 AND claimed_at < now() - $6::interval))
               RETURNING request_id""",
            merchant_id,
            key,
            fingerprint,
            claim_id,
            ttl,
            timedelta(seconds=STALE_CLAIM_SECONDS),
        )
        if request_id is not None:
            log.info("idempotency.claim_taken_over", merchant_id=merchant_id)
            return Claim(claim_id, request_id)
        row = await pool.fetchrow(
            """SELECT fingerprint, status, response_status, response_body, content_type
               FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 AND expires_at > now()""",
            merchant_id,
            key,
        )
        if row is not None:
            return StoredKey(
                fingerprint=row["fingerprint"],
                done=row["status"] == "done",
                response_status=row["response_status"],
                response_body=row["response_body"],
                content_type=row["content_type"],
            )
    return None


async def complete(
    pool: asyncpg.Pool, merchant_id: str, key: str, claim_id: uuid.UUID, response: web.StreamResponse, body: bytes
) -> bool:
    """Store the answer under our claim; False when the claim is no longer ours (taken over)."""
    status = await pool.execute(
        """UPDATE idempotency_keys
           SET status = 'done', response_status = $4, response_body = $5, content_type = $6
           WHERE merchant_id = $1 AND key = $2 AND claim_id = $3""",
        merchant_id,
        key,
        claim_id,
        response.status,
        body,
        response.headers.get("Content-Type"),
    )
    return bool(status == "UPDATE 1")


async def release(pool: asyncpg.Pool, merchant_id: str, key: str, claim_id: uuid.UUID) -> None:
    await pool.execute(
        "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 AND claim_id = $3",
        merchant_id,
        key,
        claim_id,
    )


async def purge_expired(pool: asyncpg.Pool, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete expired keys in small transactions; return how many."""
    total = 0
    while True:
        status = await pool.execute(
            """DELETE FROM idempotency_keys WHERE (merchant_id, key) IN (
                   SELECT merchant_id, key FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)""",
            batch_size,
        )
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch_size:
            return total


async def purge_forever(pool: asyncpg.Pool, interval_seconds: float = PURGE_INTERVAL_SECONDS) -> None:
    while True:
        try:
            deleted = await purge_expired(pool)
            if deleted:
                log.info("idempotency.purged", keys=deleted)
        except Exception as exc:
            log.warning("idempotency.purge_failed", error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(interval_seconds)


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
        if not await complete(pool, merchant_id, key, claim_id, response, body):
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
