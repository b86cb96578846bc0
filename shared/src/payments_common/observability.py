"""The observability routes base_app gives every service, and the HTTP metrics middleware.

- `/health` (kept as it always was), `/healthz`, `/readyz`: payments_common.health.
- `/metrics`: the process's metrics in Prometheus's text format. Unauthenticated, like the probes, so a
  scraper needs no credential; it is meant to be scraped from inside the network (the compose network,
  deploy/prometheus/prometheus.yml), and a proxy in front of a public service should not route it. It
  says how busy the service is and which routes exist, nothing about any payment or customer.

`PUBLIC_PATHS` lists them, for a service whose authentication middleware must let them through.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from payments_common import health, metrics
from payments_common.logging import get_logger

log = get_logger(__name__)

HEALTH_PATH, LIVENESS_PATH, READINESS_PATH, METRICS_PATH = "/health", "/healthz", "/readyz", "/metrics"
# the paths no credential is asked for: order-svc's authentication exempts these
PUBLIC_PATHS = frozenset({HEALTH_PATH, LIVENESS_PATH, READINESS_PATH, METRICS_PATH})

# each scrape-time refresh's budget: a scrape must answer well within Prometheus's own timeout (10 s)
SCRAPE_REFRESH_TIMEOUT_SECONDS = 2.0

SERVICE = web.AppKey("metrics_service", str)
SCRAPE_REFRESHES = web.AppKey("scrape_refreshes", list[metrics.Refresh])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_of(request: web.Request) -> str:
    """The matched route's path template (`/orders/{order_id}`), never the raw path: one series per
    route, whatever ids clients send. A request no route matched (404, 405) is `unmatched`."""
    resource = request.match_info.route.resource
    if resource is None:
        return UNMATCHED
    return resource.canonical


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts and times every request; outermost, so the time includes the other middlewares' and the
    status is the one the client got (error_middleware's rendering of an exception included)."""
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        # redirects and the like, which the error middleware lets through to aiohttp
        status = exc.status
        raise
    finally:
        route = route_of(request)
        method = request.method if request.method in _METHODS else metrics.OTHER
        service = request.config_dict.get(SERVICE, "unknown")
        _requests(service, route, method, status).inc()
        _durations(service, route, method).observe(time.perf_counter() - start)


# a labelled series looked up once: `labels()` checks and locks on every call, several microseconds
# per request. The keys are bounded (route templates, known methods, statuses), and so are the caches.
@functools.lru_cache(maxsize=4096)
def _requests(service: str, route: str, method: str, status: int) -> Any:
    return metrics.HTTP_REQUESTS.labels(service, route, method, str(status))


@functools.lru_cache(maxsize=1024)
def _durations(service: str, route: str, method: str) -> Any:
    return metrics.HTTP_REQUEST_DURATION.labels(service, route, method)


def on_scrape(app: web.Application, refresh: metrics.Refresh) -> None:
    """Run `refresh` before each `/metrics` answer (gauges read from elsewhere: dead-letter depths,
    anomalies open). Each has `SCRAPE_REFRESH_TIMEOUT_SECONDS`; one that fails leaves its gauges as they
    were and the scrape goes on."""
    app[SCRAPE_REFRESHES].append(refresh)


async def _refresh(refresh: metrics.Refresh) -> None:
    try:
        async with asyncio.timeout(SCRAPE_REFRESH_TIMEOUT_SECONDS):
            await refresh()
    except Exception as exc:
        log.warning("metrics.refresh_failed", refresh=getattr(refresh, "__qualname__", "?"), error=type(exc).__name__)


async def metrics_view(request: web.Request) -> web.Response:
    app = request.app
    # readiness too, so that `service_ready` is current even where nothing probes /readyz
    await asyncio.gather(
        app[health.READINESS].run(),
        *(_refresh(refresh) for refresh in request.config_dict[SCRAPE_REFRESHES]),
    )
    # prometheus_client renders the whole registry synchronously: cheap at this many series
    body = generate_latest(REGISTRY)
    response = web.Response(body=body)
    # the classic text format's version 0.0.4, which every Prometheus reads (the body is the same in the
    # newer 1.0.0, as no name here needs escaping); set whole, since aiohttp's content_type argument
    # refuses a value with parameters
    response.headers["Content-Type"] = CONTENT_TYPE_PLAIN_0_0_4
    response.headers["Cache-Control"] = "no-store"
    return response


def install(app: web.Application) -> None:
    """What base_app adds: the readiness registry, the scrape-time refreshes, and the routes. The
    `service` label is resolved now, at start-up, where `payments_common.logging.configure`'s binding
    of the service's name is in the context."""
    service = metrics.service_name()
    app[SERVICE] = service
    app[health.READINESS] = health.Readiness(service=service)
    app[SCRAPE_REFRESHES] = []
    app.router.add_get(LIVENESS_PATH, health.healthz)
    app.router.add_get(READINESS_PATH, health.readyz)
    app.router.add_get(METRICS_PATH, metrics_view)
