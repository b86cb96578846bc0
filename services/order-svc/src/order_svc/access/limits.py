"""The client API's rate limits: per API key once authenticated, and for failed authentications per
(key id presented, source address) and per source address.

Two middlewares around the authentication one:

- `auth_failure_middleware`, outside it: the credentials are always checked first (in constant time,
  `order_svc.access.domain`). A right key goes on, whatever its address has been doing: a guesser
  behind an office's or a carrier's shared address must not lock out the merchants behind it. Only
  a wrong attempt (a 401) draws, from the bucket of the key id it presented at its address and from
  its address's coarser bucket (many different key ids); once either is empty it is answered 429
  with `Retry-After` instead of 401. That a right key still gets its 200 tells a guesser nothing
  it could use: an API key's secret is random, far beyond guessing at any rate, so the limit is about
  the noise and the work of guessing, not about hiding which guess was right.
- `api_key_middleware`, inside it: each authenticated request draws from its merchant's bucket (all of
  the merchant's keys together, so more keys buy no more throughput), so one merchant's burst cannot
  take the service from the others.

And `checkout_payment`, asked by the public checkout pages before they start a payment: per source
address and per page, against card testing (stolen cards tried one after another on a public form).

The buckets live in Redis when `REDIS_URL` is set, so they hold for all replicas together
(`payments_common.ratelimit_store`). When Redis fails to answer, the per-key limit fails open (an
outage of the store must not become an outage of the API) and the failure buckets fail closed: a
wrong attempt gets 429, so a guesser gets no free tries while the store is down, and a right key,
checked first, is admitted all the same.

Refusals are logged per source or key in aggregate (the first at once, then a count per interval).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from order_svc.access.http import MERCHANT_ID
from order_svc.settings import Settings
from payments_common.client_address import IPNetwork, client_address, limit_key, parse_cidrs
from payments_common.errors import ApiError
from payments_common.http import Handler, json_response
from payments_common.logging import get_logger
from payments_common.ratelimit import Decision, RefusalTally
from payments_common.ratelimit_store import Limiter, RateLimits
from payments_common.tasks import logging_refusals

log = get_logger(__name__)

RATE_LIMITED = "RATE_LIMITED"
# how often the refusals counted but not yet logged are written out
REFUSAL_LOG_INTERVAL_SECONDS = 10.0
# a presented key id longer than any real one is cut: it only names a bucket
MAX_KEY_ID_CHARS = 64


@dataclass(frozen=True, slots=True)
class ApiLimits:
    trusted_proxies: tuple[IPNetwork, ...]
    store: RateLimits
    per_key: Limiter
    # wrong attempts per (key id presented, source), and per source whatever the key id
    auth_failures: Limiter
    auth_failure_sources: Limiter
    # payments started from the public checkout pages, per source address and per page
    checkout_sources: Limiter
    checkout_pages: Limiter
    # (log event, field, source address or key id) -> refusals not logged yet
    refusals: RefusalTally[tuple[str, str, str]]

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiLimits:
        store = RateLimits.connect(settings.REDIS_URL.get_secret_value())
        return cls(
            trusted_proxies=parse_cidrs(settings.TRUSTED_PROXIES),
            store=store,
            per_key=store.limiter("api-key", settings.API_RATE_PER_SECOND, settings.API_RATE_BURST, fail_open=True),
            auth_failures=store.limiter(
                "auth-failure",
                settings.AUTH_FAILURE_RATE_PER_SECOND,
                settings.AUTH_FAILURE_RATE_BURST,
                fail_open=False,
            ),
            auth_failure_sources=store.limiter(
                "auth-failure-source",
                settings.AUTH_FAILURE_SOURCE_RATE_PER_SECOND,
                settings.AUTH_FAILURE_SOURCE_RATE_BURST,
                fail_open=False,
            ),
            checkout_sources=store.limiter(
                "checkout-source",
                settings.CHECKOUT_PAYMENT_RATE_PER_SECOND,
                settings.CHECKOUT_PAYMENT_RATE_BURST,
                fail_open=True,
            ),
            checkout_pages=store.limiter(
                "checkout-page",
                settings.CHECKOUT_PAGE_PAYMENT_RATE_PER_SECOND,
                settings.CHECKOUT_PAGE_PAYMENT_RATE_BURST,
                fail_open=True,
            ),
            refusals=RefusalTally(REFUSAL_LOG_INTERVAL_SECONDS),
        )


LIMITS = web.AppKey("api_limits", ApiLimits)


def _report(limits: ApiLimits, event: str, field: str, subject: str) -> None:
    count = limits.refusals.record((event, field, subject))
    if count:
        log.warning(event, refused=count, **{field: subject})


def _too_many(description: str, decision: Decision) -> web.Response:
    # rendered here rather than raised: the error middleware would drop Retry-After
    body = ApiError(429, RATE_LIMITED, description).body()
    return json_response(body, 429, {"Retry-After": decision.retry_after_header})


async def _longest_refusal(*draws: Awaitable[Decision]) -> Decision | None:
    """Draw from every bucket at once (each draw spends its token whatever the others answer): the
    refusal that asks the longest wait, or None when every bucket allowed it."""
    refused = [decision for decision in await asyncio.gather(*draws) if not decision.allowed]
    return max(refused, key=lambda decision: decision.retry_after) if refused else None


def _source(request: web.Request, limits: ApiLimits) -> str:
    address = client_address(request.remote, request.headers.getall("X-Forwarded-For", []), limits.trusted_proxies)
    return limit_key(address) if address is not None else "unknown"


def presented_key_id(header: str | None) -> str:
    """The key id a `Basic` header names, right or wrong; "" when there is none to read."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return ""
    key_id, sep, _ = decoded.partition(":")
    return key_id[:MAX_KEY_ID_CHARS] if sep else ""


@web.middleware
async def auth_failure_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        # the credentials are checked first, always: a right key is never refused on its address's account
        return await handler(request)
    except ApiError as error:
        if error.status != 401:
            raise
        limits = request.app[LIMITS]
        source = _source(request, limits)
        key_id = presented_key_id(request.headers.get("Authorization"))
        refusal = await _longest_refusal(
            limits.auth_failures.acquire((key_id, source)), limits.auth_failure_sources.acquire(source)
        )
        if refusal is not None:
            _report(limits, "api.auth_failures_limited", "source", source)
            return _too_many("too many failed authentications from this address; retry later", refusal)
        raise


@web.middleware
async def api_key_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    merchant = request.get(MERCHANT_ID)
    if merchant is None:  # a public route
        return await handler(request)
    limits = request.app[LIMITS]
    decision = await limits.per_key.acquire(merchant)
    if not decision.allowed:
        # the merchant id (a merchant seeded from API_KEYS keeps its key id as its id) is no secret; the
        # key's secret never reaches this point
        _report(limits, "api.rate_limited", "key_id", merchant)
        return _too_many("too many requests for this API key; retry later", decision)
    return await handler(request)


async def checkout_payment(request: web.Request, page: str) -> Decision:
    """Whether a payment may start from a public checkout page now: it draws from its source address's
    bucket and from the page's (`page` names the link or the order). Both must allow it. A store that
    does not answer lets it through, as the API's per-key limit does: the gateway's own checks remain."""
    limits = request.app[LIMITS]
    source = _source(request, limits)
    refusal = await _longest_refusal(limits.checkout_sources.acquire(source), limits.checkout_pages.acquire(page))
    if refusal is None:
        return Decision(allowed=True)
    _report(limits, "checkout.payments_limited", "source", source)
    return refusal


async def report_refusals(app: web.Application) -> AsyncIterator[None]:
    limits = app[LIMITS]

    def write(key: tuple[str, str, str] | None, count: int) -> None:
        event, field, subject = key if key is not None else ("api.refused", "source", "other sources")
        log.warning(event, refused=count, aggregated=True, **{field: subject})

    try:
        async with logging_refusals(limits.refusals, REFUSAL_LOG_INTERVAL_SECONDS, write, "api-refusal-log"):
            yield
    finally:
        await limits.store.close()


def install(app: web.Application, settings: Settings, authenticate: Middleware) -> None:
    """The failure guard outside `authenticate` (the auth middleware), the per-key limit inside it."""
    app[LIMITS] = ApiLimits.from_settings(settings)
    app.middlewares.extend([auth_failure_middleware, authenticate, api_key_middleware])
    app.cleanup_ctx.append(report_refusals)
