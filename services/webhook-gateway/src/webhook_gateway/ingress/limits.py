"""Who may deliver webhooks, and how fast: the IP allowlist and per-source rate limits of `/webhook/…`.

Two middlewares, one on each side of the shared one that reads the body:

1. `guard_middleware`, before the body is read: the client's address (the socket peer;
   `X-Forwarded-For` only from a `TRUSTED_PROXIES` peer) must be in `WEBHOOK_ALLOWED_CIDRS`, or the
   answer is 403 at once. A request whose signature headers alone already fail (missing, a malformed
   or stale timestamp) draws from its source's unverified bucket here, so an empty bucket refuses it
   without reading the body at all.
2. `limit_middleware`, once the body is read: the Standard Webhooks signature is checked before any
   limit is applied. It is an HMAC over at most `MAX_BODY_BYTES`, microseconds of work, so there is no
   reason to turn a webhook away unheard: forgers sharing the gateway's address (a NAT, a test
   machine) then cannot starve genuine webhooks. A request that verifies draws from the source's
   generous verified bucket; one that does not, from the far tighter unverified bucket.

An empty bucket answers 429 with `Retry-After`, and the view never runs. Otherwise the view checks
everything again, in full, with its own error messages. Whatever is still refused after that (a
malformed payload or a wrong payment signature under a valid webhook signature, a body too large or
too slow) draws from the unverified bucket on the way out, and becomes a 429 when that is empty.

What a flood costs: refusals by an empty unverified bucket and by the allowlist are logged per source
in aggregate (a few lines, not one per request), and their answer is held for
`WEBHOOK_REFUSAL_DELAY_SECONDS` first. Most floods send each request on a connection once the previous
one is answered, so a held answer slows each flooding connection to one request per delay, where an
immediate one would invite the next at once: measured on 2 cores, an unheld flood from 64 connections
takes the gateway's CPU from genuine webhooks and multiplies their latency by hundreds
(`benchmarks/webhook_flood.py`). A sleeping request costs a timer and its connection; at most
`MAX_HELD_REFUSALS` are held at once, and past that the answer goes out at once.

The buckets live in Redis when `REDIS_URL` is set, so a source's budget holds for all replicas
together (`payments_common.ratelimit_store`). When Redis fails to answer, the verified bucket fails
open (a genuine, signed webhook must not be turned away because the limit's store is down) and the
unverified one fails closed (a forger gets 429, not free tries, while the store is down).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from payments_common.client_address import IPNetwork, client_address, limit_key, parse_cidrs, within
from payments_common.errors import ApiError
from payments_common.http import Handler, correlation_middleware
from payments_common.logging import get_logger
from payments_common.ratelimit import Decision, RefusalTally
from payments_common.ratelimit_store import Limiter, RateLimits
from payments_common.signatures import WebhookVerificationError, verify_webhook
from payments_common.tasks import logging_refusals
from webhook_gateway.ingress.http import VERIFICATION, VERIFIED_EVENT
from webhook_gateway.ingress.schemas import WebhookRefused, answer
from webhook_gateway.settings import Settings

log = get_logger(__name__)

GUARDED_PREFIX = "/webhook/"
FORBIDDEN = "FORBIDDEN"
RATE_LIMITED = "RATE_LIMITED"
_SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
# unix seconds have 10 digits until 2286; a longer "timestamp" is junk, and int() of it costs time
_MAX_TIMESTAMP_DIGITS = 12
# how often the refusals counted but not yet logged are written out
REFUSAL_LOG_INTERVAL_SECONDS = 10.0
# held refusals at once, per process: each holds a connection, so this bounds what a flood of
# connections can make the gateway keep open on its account
MAX_HELD_REFUSALS = 1000


class Tarpit:
    """Holds the answer to a refused request for about `delay` seconds, at most `capacity` at a time.

    Each hold is drawn between half and one and a half times the delay: connections refused together
    would otherwise be answered together, and come back together, in bursts that stall the event loop
    (and the genuine webhooks in it) once a second.
    """

    def __init__(self, delay: float, capacity: int = MAX_HELD_REFUSALS) -> None:
        self.delay = delay
        self.capacity = capacity
        self.held = 0

    async def hold(self) -> None:
        if self.delay <= 0 or self.held >= self.capacity:
            return
        self.held += 1
        try:
            await asyncio.sleep(self.delay * random.uniform(0.5, 1.5))
        finally:
            self.held -= 1


@dataclass(frozen=True, slots=True)
class IngressPolicy:
    allowed: tuple[IPNetwork, ...]
    trusted_proxies: tuple[IPNetwork, ...]
    store: RateLimits
    verified: Limiter
    unverified: Limiter
    # (log event, source, bucket or "") -> refusals not logged yet
    refusals: RefusalTally[tuple[str, str, str]]
    tarpit: Tarpit

    @classmethod
    def from_settings(cls, settings: Settings) -> IngressPolicy:
        store = RateLimits.connect(settings.REDIS_URL.get_secret_value())
        return cls(
            allowed=parse_cidrs(settings.WEBHOOK_ALLOWED_CIDRS),
            trusted_proxies=parse_cidrs(settings.TRUSTED_PROXIES),
            store=store,
            verified=store.limiter(
                "webhook-verified", settings.WEBHOOK_RATE_PER_SECOND, settings.WEBHOOK_RATE_BURST, fail_open=True
            ),
            unverified=store.limiter(
                "webhook-unverified",
                settings.WEBHOOK_UNVERIFIED_RATE_PER_SECOND,
                settings.WEBHOOK_UNVERIFIED_RATE_BURST,
                fail_open=False,
            ),
            refusals=RefusalTally(REFUSAL_LOG_INTERVAL_SECONDS),
            tarpit=Tarpit(settings.WEBHOOK_REFUSAL_DELAY_SECONDS),
        )


INGRESS = web.AppKey("ingress", IngressPolicy)
# the request's source, set by the guard; and whether the request has drawn from the unverified bucket
SOURCE = web.RequestKey("ingress_source", str)
DREW_UNVERIFIED = web.RequestKey("ingress_drew_unverified", bool)


def _answer(status: int, code: str, description: str, headers: dict[str, str] | None = None) -> web.Response:
    # rendered here rather than raised: the error middleware would drop Retry-After
    return answer(WebhookRefused.of(ApiError(status, code, description)), status, headers)


def _report(policy: IngressPolicy, event: str, source: str, bucket: str = "", **fields: Any) -> None:
    count = policy.refusals.record((event, source, bucket))
    if count:
        log.warning(event, source=source, refused=count, **({"bucket": bucket} if bucket else {}), **fields)


async def _too_many(policy: IngressPolicy, source: str, bucket: str, decision: Decision) -> web.Response:
    _report(policy, "webhook.rate_limited", source, bucket=bucket)
    # not the verified bucket's: that is the genuine gateway, owed a prompt answer
    if bucket == "unverified":
        await policy.tarpit.hold()
    return _answer(
        429,
        RATE_LIMITED,
        f"too many {bucket} webhook requests from this address; retry later",
        {"Retry-After": decision.retry_after_header},
    )


def _headers_fail(request: web.Request, tolerance_seconds: int) -> bool:
    """True when the signature headers alone show the request cannot verify (the signature itself
    needs the body); a cheap look, the full check is `verify_webhook`'s."""
    headers = request.headers
    if not all(headers.get(name) for name in _SIGNATURE_HEADERS):
        return True
    timestamp = headers["webhook-timestamp"]
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        return True
    return abs(time.time() - int(timestamp)) > tolerance_seconds


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(GUARDED_PREFIX):
        return await handler(request)
    policy = request.app[INGRESS]
    address = client_address(request.remote, request.headers.getall("X-Forwarded-For", []), policy.trusted_proxies)
    if address is None or not within(address, policy.allowed):
        # the address only: the body is not read, and headers may carry a signature
        _report(policy, "webhook.forbidden", str(address) if address else "unknown", peer=request.remote)
        await policy.tarpit.hold()
        return _answer(403, FORBIDDEN, "this address may not deliver webhooks")
    source = limit_key(address)
    request[SOURCE] = source

    if _headers_fail(request, request.app[VERIFICATION].tolerance_seconds):
        request[DREW_UNVERIFIED] = True
        decision = await policy.unverified.acquire(source)
        if not decision.allowed:
            return await _too_many(policy, source, "unverified", decision)

    # the error middleware, inside this one, has turned every refusal into a response by now
    response = await handler(request)
    if 400 <= response.status < 500 and response.status != 429 and not request.get(DREW_UNVERIFIED):
        decision = await policy.unverified.acquire(source)
        if not decision.allowed:
            return await _too_many(policy, source, "unverified", decision)
    return response


@web.middleware
async def limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    source = request.get(SOURCE)
    if source is None or request.get(DREW_UNVERIFIED):
        return await handler(request)
    policy = request.app[INGRESS]
    verification = request.app[VERIFICATION]
    try:
        # the body is read already: this is aiohttp's copy
        body = await request.read()
        # the view trusts this verdict instead of computing the same HMACs again
        request[VERIFIED_EVENT] = verify_webhook(
            verification.webhook_keys, request.headers, body, verification.tolerance_seconds
        )
    except WebhookVerificationError:
        request[DREW_UNVERIFIED] = True
        decision = await policy.unverified.acquire(source)
        if not decision.allowed:
            return await _too_many(policy, source, "unverified", decision)
        # the view refuses it with the precise reason, and logs it
        return await handler(request)

    decision = await policy.verified.acquire(source)
    if not decision.allowed:
        return await _too_many(policy, source, "verified", decision)
    return await handler(request)


async def report_refusals(app: web.Application) -> AsyncIterator[None]:
    policy = app[INGRESS]

    def write(key: tuple[str, str, str] | None, count: int) -> None:
        event, source, bucket = key if key is not None else ("webhook.refused", "other sources", "")
        log.warning(event, source=source, refused=count, aggregated=True, **({"bucket": bucket} if bucket else {}))

    try:
        async with logging_refusals(policy.refusals, REFUSAL_LOG_INTERVAL_SECONDS, write, "ingress-refusal-log"):
            yield
    finally:
        await policy.store.close()


def install(app: web.Application, settings: Settings) -> None:
    """The guard right inside the correlation id, so its answers carry one, and outside everything
    else, the reading of the body included; the limits last, just before the view."""
    app[INGRESS] = IngressPolicy.from_settings(settings)
    app.middlewares.insert(app.middlewares.index(correlation_middleware) + 1, guard_middleware)
    app.middlewares.append(limit_middleware)
    app.cleanup_ctx.append(report_refusals)
