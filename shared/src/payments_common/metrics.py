"""The system's Prometheus metrics: every metric object, and the small functions that record them.

One registry per process (prometheus_client's default `REGISTRY`), rendered by `GET /metrics`
(payments_common.observability). Names follow Prometheus's conventions: counters end in `_total`
(prometheus_client appends it), durations are `_seconds`. Every label takes values from a small,
fixed set (a route's path template, never the raw path; a queue's name; an outcome): a label fed
from request data would let any client mint series without bound, so each value also passes
through `bounded`, which folds the unexpected into `other`.

Most are recorded by the library itself (HTTP by base_app's middleware, consumers, the inbox, the
outbox relay); the few that only a service knows of (webhooks refused, settlements, gateway calls,
emails, anomalies) have a function here for the service to call.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from aio_pika.abc import AbstractRobustConnection
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics

from payments_common.broker import queue_count
from payments_common.logging import get_logger
from payments_common.topology import QueueSpec

log = get_logger(__name__)

# a `_created` sample beside every counter and histogram doubles the series for a timestamp nobody
# alerts on; this process owns its registry, so the switch is ours to throw
disable_created_metrics()  # type: ignore[no-untyped-call]

# seconds: from a fast local query to a gateway call near its timeout
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# an event's way from its outbox row to the broker: a NOTIFY wakes the relay within milliseconds,
# the poll within a second, a failed publish backs off for up to a minute
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# ---------------------------------------------------------------------------------------------
# the metric objects (module-level: prometheus_client refuses to register a name twice)
# ---------------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter("http_requests", "HTTP requests answered", ["service", "route", "method", "status"])
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request's arrival at the app to its answer",
    ["service", "route", "method"],
    buckets=_LATENCY_BUCKETS,
)
SERVICE_READY = Gauge("service_ready", "1 when every readiness check passed at the last /readyz or scrape", ["service"])
READINESS_CHECK = Gauge("readiness_check", "1 when this readiness check passed at its last run", ["service", "check"])

WEBHOOKS_RECEIVED = Counter("webhooks_received", "Webhooks the gateway delivered, before any check", ["kind"])
WEBHOOKS_REFUSED = Counter("webhooks_refused", "Webhooks refused, by why", ["kind", "reason"])

EVENTS_CONSUMED = Counter(
    "events_consumed", "Messages a consumer finished with, by what became of them", ["queue", "outcome"]
)
EVENT_PROCESSING = Histogram(
    "event_processing_seconds", "Time a consumer spent on one message", ["queue"], buckets=_LATENCY_BUCKETS
)
MESSAGE_RETRIES = Counter("message_retries", "Messages sent to a delay tier, by its 1-based tier", ["queue", "tier"])
INBOX_DUPLICATES = Counter("inbox_duplicates", "Messages a consumer had already applied", ["consumer"])
DEAD_LETTER_MESSAGES = Gauge("dead_letter_messages", "Messages waiting in a dead-letter queue", ["queue"])

OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unpublished_age_seconds", "Age of the oldest outbox row not yet published (0 when none)", ["service"]
)
OUTBOX_PUBLISHED = Counter("outbox_published", "Outbox rows the broker confirmed", ["service"])
OUTBOX_PUBLISH_FAILURES = Counter("outbox_publish_failures", "Outbox publishes that failed, to retry", ["service"])
OUTBOX_PUBLISH_LAG = Histogram(
    "outbox_publish_lag_seconds", "From an outbox row's commit to its publish", ["service"], buckets=_LAG_BUCKETS
)

RECONCILIATION_SETTLEMENTS = Counter(
    "reconciliation_settlements", "Payments and refunds the reconciler or the expiry settled", ["kind", "outcome"]
)
GATEWAY_REQUEST_DURATION = Histogram(
    "gateway_request_duration_seconds",
    "Calls to the payment gateway, by operation and answer",
    ["operation", "status"],
    buckets=_LATENCY_BUCKETS,
)
EMAILS_SENT = Counter("emails_sent", "Customer emails handed to the SMTP server, by outcome", ["outcome"])
ANOMALIES_OPEN = Gauge("anomalies_open", "Payment anomalies recorded and not yet resolved")
RATELIMIT_STORE_ERRORS = Counter(
    "ratelimit_store_errors", "Rate-limit decisions the shared store (Redis) could not make, by limit", ["limit"]
)

# webhooks to merchants (merchant-webhooks): each attempt's outcome and time, and the deliveries still to make
WEBHOOK_DELIVERY_ATTEMPTS = Counter(
    "webhook_delivery_attempts",
    "Attempts to deliver a webhook to a merchant's endpoint: delivered, retrying (failed, tried again later) or "
    "failed (failed, and the delivery given up)",
    ["outcome"],
)
WEBHOOK_ATTEMPT_DURATION = Histogram(
    "webhook_attempt_duration_seconds",
    "Time a webhook attempt took, from the request to the answer or the error",
    ["outcome"],
    buckets=_LATENCY_BUCKETS,
)
WEBHOOK_DELIVERIES_PENDING = Gauge("webhook_deliveries_pending", "Webhook deliveries not yet delivered nor given up")

# every name a rule may use (deploy/prometheus/alerts.yml is checked against it); a counter's
# samples carry the `_total` suffix, a histogram's `_bucket`, `_sum` and `_count`
METRICS: tuple[Counter | Gauge | Histogram, ...] = (
    HTTP_REQUESTS,
    HTTP_REQUEST_DURATION,
    SERVICE_READY,
    READINESS_CHECK,
    WEBHOOKS_RECEIVED,
    WEBHOOKS_REFUSED,
    EVENTS_CONSUMED,
    EVENT_PROCESSING,
    MESSAGE_RETRIES,
    INBOX_DUPLICATES,
    DEAD_LETTER_MESSAGES,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISHED,
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISH_LAG,
    RECONCILIATION_SETTLEMENTS,
    GATEWAY_REQUEST_DURATION,
    EMAILS_SENT,
    ANOMALIES_OPEN,
    RATELIMIT_STORE_ERRORS,
    WEBHOOK_DELIVERY_ATTEMPTS,
    WEBHOOK_ATTEMPT_DURATION,
    WEBHOOK_DELIVERIES_PENDING,
)


def sample_names() -> frozenset[str]:
    """Every series name the metrics above expose."""
    names: set[str] = set()
    for metric in METRICS:
        for family in metric.describe():
            base = family.name
            if family.type == "counter":
                names.add(f"{base}_total")
            elif family.type == "histogram":
                names.update({f"{base}_bucket", f"{base}_sum", f"{base}_count"})
            else:
                names.add(base)
    return frozenset(names)


# ---------------------------------------------------------------------------------------------
# label values
# ---------------------------------------------------------------------------------------------

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:/{}\-]{1,100}$")
# distinct values one label of one metric may take before the rest fold into `other`
MAX_LABEL_VALUES = 64
_seen: dict[tuple[str, str], set[str]] = {}
OTHER = "other"


def bounded(metric: str, label: str, value: str) -> str:
    """`value`, or `other` when it is not a plain token or the label already has its share of values:
    a safety net under labels that come from outside (a refusal's reason, an operation's name)."""
    if not _LABEL_VALUE.match(value):
        return OTHER
    seen = _seen.setdefault((metric, label), set())
    if value in seen:
        return value
    if len(seen) >= MAX_LABEL_VALUES:
        return OTHER
    seen.add(value)
    return value


_service: str | None = None


def set_service_name(name: str) -> None:
    """Name this process's `service` label explicitly (otherwise the name `logging.configure` bound)."""
    global _service
    _service = name


def service_name(default: str = "unknown") -> str:
    """The process's service: the name set above, else the one `payments_common.logging.configure` binds
    to every log line (service.main passes the console script's name), else `default`."""
    if _service is not None:
        return _service
    bound_name = structlog.contextvars.get_contextvars().get("service")
    return bound_name if isinstance(bound_name, str) and bound_name else default


# ---------------------------------------------------------------------------------------------
# what services call
# ---------------------------------------------------------------------------------------------


def webhook_received(kind: str) -> None:
    """One webhook arrived (`kind`: payment, refund), counted before it is checked."""
    WEBHOOKS_RECEIVED.labels(bounded("webhooks_received", "kind", kind)).inc()


def webhook_refused(kind: str, reason: str) -> None:
    """One webhook refused; `reason` is the error code answered (BAD_SIGNATURE, STALE_TIMESTAMP, …)."""
    WEBHOOKS_REFUSED.labels(
        bounded("webhooks_refused", "kind", kind), bounded("webhooks_refused", "reason", reason)
    ).inc()


def ratelimit_store_error(limit: str) -> None:
    """One decision of `limit` (a bucket's name) the rate-limit store failed to make in time."""
    RATELIMIT_STORE_ERRORS.labels(bounded("ratelimit_store_errors", "limit", limit)).inc()


def reconciliation_settled(kind: str, outcome: str) -> None:
    """The reconciler or the expiry settled something: `kind` payment|refund|expiry, `outcome` the
    state it ended in (captured, failed, expired, …)."""
    RECONCILIATION_SETTLEMENTS.labels(
        bounded("reconciliation_settlements", "kind", kind), bounded("reconciliation_settlements", "outcome", outcome)
    ).inc()


def email_sent(outcome: str) -> None:
    """One customer email: `outcome` sent|failed|skipped."""
    EMAILS_SENT.labels(bounded("emails_sent", "outcome", outcome)).inc()


def set_anomalies_open(count: int) -> None:
    ANOMALIES_OPEN.set(count)


def observe_gateway_request(operation: str, status: int | str, seconds: float) -> None:
    """One gateway call: `status` the HTTP status it answered, or `timeout`/`error` when it did not."""
    GATEWAY_REQUEST_DURATION.labels(
        bounded("gateway_request_duration_seconds", "operation", operation),
        bounded("gateway_request_duration_seconds", "status", str(status)),
    ).observe(seconds)


@dataclass(slots=True)
class GatewayCall:
    """What `gateway_call` records; set `status` to the answer's status code."""

    status: int | str = "error"


@contextlib.asynccontextmanager
async def gateway_call(operation: str) -> AsyncIterator[GatewayCall]:
    """Time one gateway call: `async with gateway_call("create_payment") as call: …; call.status = r.status`.
    A timeout is recorded as `timeout`, any other exception (or a status never set) as `error`."""
    call = GatewayCall()
    start = time.perf_counter()
    try:
        yield call
    except TimeoutError:
        call.status = "timeout"
        raise
    finally:
        observe_gateway_request(operation, call.status, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------
# recorded by the library (consumer.py, inbox.py, outbox.py)
# ---------------------------------------------------------------------------------------------

# a consumer's outcomes: applied (or found a duplicate) and acked; sent to a delay tier; dead-lettered
# (malformed: could never have been applied); handed back to the broker because parking it failed;
# error: the ack or the parking itself raised
APPLIED, RETRIED, DEAD_LETTERED, MALFORMED = "applied", "retried", "dead_lettered", "malformed"
REQUEUED, ERROR = "requeued", "error"


def event_consumed(queue: str, outcome: str, seconds: float) -> None:
    EVENTS_CONSUMED.labels(queue, outcome).inc()
    EVENT_PROCESSING.labels(queue).observe(seconds)


def message_retried(queue: str, tier: int) -> None:
    MESSAGE_RETRIES.labels(queue, str(tier)).inc()


def inbox_duplicate(consumer: str) -> None:
    INBOX_DUPLICATES.labels(consumer).inc()


def outbox_published(service: str, lags_seconds: Iterable[float]) -> None:
    lags = list(lags_seconds)
    OUTBOX_PUBLISHED.labels(service).inc(len(lags))
    histogram = OUTBOX_PUBLISH_LAG.labels(service)
    for lag in lags:
        histogram.observe(max(0.0, lag))


def outbox_publish_failed(service: str, count: int) -> None:
    OUTBOX_PUBLISH_FAILURES.labels(service).inc(count)


def outbox_backlog(service: str, count: int, oldest_age_seconds: float) -> None:
    OUTBOX_BACKLOG.labels(service).set(count)
    OUTBOX_OLDEST_AGE.labels(service).set(max(0.0, oldest_age_seconds))


# ---------------------------------------------------------------------------------------------
# gauges refreshed at scrape time (observability.on_scrape runs these before rendering)
# ---------------------------------------------------------------------------------------------

Refresh = Callable[[], Awaitable[None]]


def dead_letter_depth(
    connection_getter: Callable[[], AbstractRobustConnection | None], specs: Iterable[QueueSpec]
) -> Refresh:
    """Set `dead_letter_messages` for each of `specs`' dead-letter queues from a passive declare (a
    round trip that reads the broker's count and creates nothing), on a channel opened for it."""
    queues = [spec.dlq for spec in specs]

    async def refresh() -> None:
        connection = connection_getter()
        if connection is None or connection.is_closed:
            return
        for name in queues:
            try:
                counted = await queue_count(connection, name)
            except Exception as exc:
                log.debug("metrics.dead_letter_depth_unknown", queue=name, error=type(exc).__name__)
                continue
            if counted is not None:
                DEAD_LETTER_MESSAGES.labels(name).set(counted.messages)

    return refresh


def anomalies_open_from(count: Callable[[], Awaitable[int]]) -> Refresh:
    """`anomalies_open` from the service's own count (a query for the anomalies not yet resolved)."""

    async def refresh() -> None:
        ANOMALIES_OPEN.set(await count())

    return refresh


def webhook_attempt(outcome: str, seconds: float) -> None:
    """One attempt of a merchant webhook: `delivered`, `retrying` or `failed`."""
    WEBHOOK_DELIVERY_ATTEMPTS.labels(bounded("webhook_delivery_attempts", "outcome", outcome)).inc()
    WEBHOOK_ATTEMPT_DURATION.labels(bounded("webhook_attempt_duration_seconds", "outcome", outcome)).observe(seconds)


def webhook_pending_from(count: Callable[[], Awaitable[int]]) -> Refresh:
    """`webhook_deliveries_pending` from merchant-webhooks' own count."""

    async def refresh() -> None:
        WEBHOOK_DELIVERIES_PENDING.set(await count())

    return refresh


def value(name: str, labels: dict[str, str] | None = None) -> float:
    """A sample's current value in the process's registry, 0 when it has none yet (tests read this)."""
    found: Any = REGISTRY.get_sample_value(name, labels or {})
    return float(found) if found is not None else 0.0
