"""The client API's rate limits: per API key once authenticated, and per source address for failed
authentications.

Two middlewares around the authentication one:

- `auth_failure_middleware`, outside it: every 401 draws from the source address's failure bucket
  (the address is the socket peer, or `X-Forwarded-For` from a `TRUSTED_PROXIES` peer). While that
  bucket is empty, a request that carries credentials is answered 429 *before* they are checked.
  Checking first would leave the limit useless against guessing: a 200 among the 429s would still
  tell the guesser it had found a secret. The price is that a merchant sharing an address with
  someone who keeps failing is mostly refused as well, for as long as the failing goes on.
- `api_key_middleware`, inside it: each authenticated request draws from its API key's bucket, so
  one merchant's burst cannot take the service from the others.

Refusals are logged per source or key in aggregate (the first at once, then a count per interval).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from order_svc.access.http import MERCHANT_ID
from order_svc.settings import Settings
from payments_common.client_address import IPNetwork, client_address, limit_key, parse_cidrs
from payments_common.errors import ApiError
from payments_common.http import Handler, json_response
from payments_common.logging import get_logger
from payments_common.ratelimit import Decision, RateLimiter, RefusalTally
from payments_common.tasks import logging_refusals

log = get_logger(__name__)

RATE_LIMITED = "RATE_LIMITED"
# how often the refusals counted but not yet logged are written out
REFUSAL_LOG_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ApiLimits:
    trusted_proxies: tuple[IPNetwork, ...]
    per_key: RateLimiter
    auth_failures: RateLimiter
    # (log event, field, source address or key id) -> refusals not logged yet
    refusals: RefusalTally[tuple[str, str, str]]

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiLimits:
        return cls(
            trusted_proxies=parse_cidrs(settings.TRUSTED_PROXIES),
            per_key=RateLimiter(settings.API_RATE_PER_SECOND, settings.API_RATE_BURST),
            auth_failures=RateLimiter(settings.AUTH_FAILURE_RATE_PER_SECOND, settings.AUTH_FAILURE_RATE_BURST),
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


def _source(request: web.Request, limits: ApiLimits) -> str:
    address = client_address(request.remote, request.headers.getall("X-Forwarded-For", []), limits.trusted_proxies)
    return limit_key(address) if address is not None else "unknown"


@web.middleware
async def auth_failure_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    limits = request.app[LIMITS]
    source = _source(request, limits)
    if "Authorization" in request.headers:
        decision = limits.auth_failures.peek(source)
        if not decision.allowed:
            _report(limits, "api.auth_failures_limited", "source", source)
            return _too_many("too many failed authentications from this address; retry later", decision)
    try:
        return await handler(request)
    except ApiError as error:
        if error.status != 401:
            raise
        decision = limits.auth_failures.acquire(source)
        if not decision.allowed:
            _report(limits, "api.auth_failures_limited", "source", source)
            return _too_many("too many failed authentications from this address; retry later", decision)
        raise


@web.middleware
async def api_key_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    merchant = request.get(MERCHANT_ID)
    if merchant is None:  # a public route
        return await handler(request)
    limits = request.app[LIMITS]
    decision = limits.per_key.acquire(merchant)
    if not decision.allowed:
        # the key id names the merchant and is no secret; the key's secret never reaches this point
        _report(limits, "api.rate_limited", "key_id", merchant)
        return _too_many("too many requests for this API key; retry later", decision)
    return await handler(request)


async def report_refusals(app: web.Application) -> AsyncIterator[None]:
    limits = app[LIMITS]

    def write(key: tuple[str, str, str] | None, count: int) -> None:
        event, field, subject = key if key is not None else ("api.refused", "source", "other sources")
        log.warning(event, refused=count, aggregated=True, **{field: subject})

    async with logging_refusals(limits.refusals, REFUSAL_LOG_INTERVAL_SECONDS, write, "api-refusal-log"):
        yield


def install(app: web.Application, settings: Settings, authenticate: Middleware) -> None:
    """The failure guard outside `authenticate` (the auth middleware), the per-key limit inside it."""
    app[LIMITS] = ApiLimits.from_settings(settings)
    app.middlewares.extend([auth_failure_middleware, authenticate, api_key_middleware])
    app.cleanup_ctx.append(report_refusals)
