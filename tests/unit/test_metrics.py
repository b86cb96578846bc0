"""The metrics (payments_common.metrics): what base_app's middleware and /metrics record and render, the
functions services call, label bounding, and the consumer's outcomes with stand-ins for the broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from payments_common import metrics, observability
from payments_common.broker import PublishError
from payments_common.consumer import Consumer
from payments_common.errors import PermanentError
from payments_common.http import base_app
from payments_common.topology import QueueSpec


@pytest.fixture
async def app() -> web.Application:
    app = base_app(max_body_bytes=1024)

    async def thing(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["thing_id"]})

    async def broken(_: web.Request) -> web.Response:
        raise KeyError("bug")

    app.router.add_get("/things/{thing_id}", thing)
    app.router.add_get("/broken", broken)
    return app


@pytest.fixture
async def client(app: web.Application) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def requests(app: web.Application, route: str, method: str, status: str) -> float:
    labels = {"service": app[observability.SERVICE], "route": route, "method": method, "status": status}
    return metrics.value("http_requests_total", labels)


async def test_requests_are_counted_by_route_template_not_raw_path(
    app: web.Application, client: TestClient[Any, Any]
) -> None:
    before = requests(app, "/things/{thing_id}", "GET", "200")
    timed_before = metrics.value(
        "http_request_duration_seconds_count",
        {"service": app[observability.SERVICE], "route": "/things/{thing_id}", "method": "GET"},
    )
    for _ in range(3):
        assert (await client.get(f"/things/{uuid.uuid4()}")).status == 200
    assert requests(app, "/things/{thing_id}", "GET", "200") == before + 3
    timed = metrics.value(
        "http_request_duration_seconds_count",
        {"service": app[observability.SERVICE], "route": "/things/{thing_id}", "method": "GET"},
    )
    assert timed == timed_before + 3
    exposed = await (await client.get("/metrics")).text()
    assert "/things/{thing_id}" in exposed
    assert "/things/" not in exposed.replace("/things/{thing_id}", "")


async def test_unmatched_paths_and_errors_are_counted_with_their_status(
    app: web.Application, client: TestClient[Any, Any]
) -> None:
    unmatched = requests(app, observability.UNMATCHED, "GET", "404")
    failed = requests(app, "/broken", "GET", "500")
    disallowed = requests(app, observability.UNMATCHED, "POST", "405")
    assert (await client.get(f"/nothing/{uuid.uuid4()}")).status == 404
    assert (await client.get("/broken")).status == 500
    assert (await client.post("/broken")).status == 405
    assert requests(app, observability.UNMATCHED, "GET", "404") == unmatched + 1
    assert requests(app, "/broken", "GET", "500") == failed + 1
    assert requests(app, observability.UNMATCHED, "POST", "405") == disallowed + 1


async def test_an_unusual_method_is_folded(app: web.Application, client: TestClient[Any, Any]) -> None:
    before = requests(app, observability.UNMATCHED, "other", "405")
    assert (await client.request("PROPFIND", "/broken")).status == 405
    assert requests(app, observability.UNMATCHED, "other", "405") == before + 1


async def test_metrics_are_prometheus_text(client: TestClient[Any, Any]) -> None:
    await client.get("/health")
    r = await client.get("/metrics")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(await r.text())}
    assert families["http_requests"].type == "counter"
    assert families["http_request_duration_seconds"].type == "histogram"
    # counters have no `_created` series beside them
    assert "_created" not in await r.text()


async def test_a_scrape_runs_the_refreshes_and_survives_a_broken_one(
    app: web.Application, client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(observability, "SCRAPE_REFRESH_TIMEOUT_SECONDS", 0.1)

    async def count() -> int:
        return 3

    async def broken() -> None:
        raise ConnectionRefusedError(111, "refused")

    async def hung() -> None:
        await asyncio.sleep(60)

    observability.on_scrape(app, broken)
    observability.on_scrape(app, hung)
    observability.on_scrape(app, metrics.anomalies_open_from(count))
    r = await client.get("/metrics")
    assert r.status == 200
    assert "anomalies_open 3.0" in await r.text()


async def test_a_scrape_sets_service_ready(app: web.Application, client: TestClient[Any, Any]) -> None:
    await client.get("/metrics")
    assert metrics.value("service_ready", {"service": app[observability.SERVICE]}) == 1


def test_service_functions_record() -> None:
    before = metrics.value("webhooks_refused_total", {"kind": "payment", "reason": "BAD_SIGNATURE"})
    metrics.webhook_received("payment")
    metrics.webhook_refused("payment", "BAD_SIGNATURE")
    assert metrics.value("webhooks_refused_total", {"kind": "payment", "reason": "BAD_SIGNATURE"}) == before + 1
    assert metrics.value("webhooks_received_total", {"kind": "payment"}) >= 1

    settled = metrics.value("reconciliation_settlements_total", {"kind": "expiry", "outcome": "expired"})
    metrics.reconciliation_settled("expiry", "expired")
    assert metrics.value("reconciliation_settlements_total", {"kind": "expiry", "outcome": "expired"}) == settled + 1

    sent = metrics.value("emails_sent_total", {"outcome": "sent"})
    metrics.email_sent("sent")
    assert metrics.value("emails_sent_total", {"outcome": "sent"}) == sent + 1

    metrics.set_anomalies_open(2)
    assert metrics.value("anomalies_open") == 2


async def test_gateway_calls_are_timed_by_operation_and_answer() -> None:
    def calls(status: str) -> float:
        return metrics.value("gateway_request_duration_seconds_count", {"operation": "capture", "status": status})

    ok, timed_out, failed = calls("200"), calls("timeout"), calls("error")
    async with metrics.gateway_call("capture") as call:
        call.status = 200
    with pytest.raises(TimeoutError):
        async with metrics.gateway_call("capture"):
            raise TimeoutError
    with pytest.raises(OSError):
        async with metrics.gateway_call("capture"):
            raise OSError("reset")
    assert (calls("200"), calls("timeout"), calls("error")) == (ok + 1, timed_out + 1, failed + 1)


def test_label_values_are_bounded() -> None:
    metric = f"test_{uuid.uuid4().hex}"
    assert metrics.bounded(metric, "reason", "BAD_SIGNATURE") == "BAD_SIGNATURE"
    assert metrics.bounded(metric, "reason", "has spaces and \n newlines") == metrics.OTHER
    assert metrics.bounded(metric, "reason", "x" * 101) == metrics.OTHER
    for n in range(metrics.MAX_LABEL_VALUES * 2):
        metrics.bounded(metric, "reason", f"R{n}")
    assert metrics.bounded(metric, "reason", "ONE_TOO_MANY") == metrics.OTHER
    assert metrics.bounded(metric, "reason", "BAD_SIGNATURE") == "BAD_SIGNATURE"


def test_every_metric_follows_the_naming_conventions() -> None:
    names = metrics.sample_names()
    for metric in metrics.METRICS:
        for family in metric.describe():
            if family.type == "counter":
                assert f"{family.name}_total" in names
            if family.type == "histogram":
                assert family.name.endswith("_seconds"), family.name


def test_the_service_name_is_the_logging_ones_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    import structlog

    with structlog.contextvars.bound_contextvars(service="order-svc"):
        assert metrics.service_name() == "order-svc"
        monkeypatch.setattr(metrics, "_service", "payment-svc")
        assert metrics.service_name() == "payment-svc"


# ---------------------------------------------------------------------------------------------
# the consumer's outcomes, with stand-ins for the message and the publisher
# ---------------------------------------------------------------------------------------------


class Message:
    def __init__(self, headers: dict[str, Any] | None = None) -> None:
        self.message_id = str(uuid.uuid4())
        self.correlation_id = None
        self.headers = headers or {}
        self.body = b"{}"
        self.content_type = "application/json"
        self.type = None
        self.acked = False

    async def ack(self) -> None:
        self.acked = True

    async def nack(self, requeue: bool = False) -> None:
        pass


class Publisher:
    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.sent: list[tuple[str, str]] = []

    async def publish(self, exchange: str, routing_key: str, body: bytes, **_: Any) -> None:
        if self.fails:
            raise PublishError("broker gone")
        self.sent.append((exchange, routing_key))


def consumer(raises: Exception | None, publisher: Publisher | None = None) -> tuple[Consumer, str]:
    queue = f"test.{uuid.uuid4().hex}"

    async def handle(_: Any) -> None:
        if raises is not None:
            raise raises

    spec = QueueSpec(name=queue, service="test", bindings=(), retry_delays_ms=(10, 20))
    return Consumer(None, spec, handle, publisher or Publisher()), queue  # type: ignore[arg-type]


def consumed(queue: str, outcome: str) -> float:
    return metrics.value("events_consumed_total", {"queue": queue, "outcome": outcome})


async def test_an_applied_message_is_counted_and_timed() -> None:
    subject, queue = consumer(None)
    await subject._on_message(Message())  # type: ignore[arg-type]
    assert consumed(queue, "applied") == 1
    assert metrics.value("event_processing_seconds_count", {"queue": queue}) == 1


async def test_retries_are_counted_by_tier_and_then_dead_lettered() -> None:
    subject, queue = consumer(RuntimeError("database away"))
    for attempt in (0, 1, 2):
        await subject._on_message(Message({"retry-attempt": attempt}))  # type: ignore[arg-type]
    assert consumed(queue, "retried") == 2
    assert metrics.value("message_retries_total", {"queue": queue, "tier": "1"}) == 1
    assert metrics.value("message_retries_total", {"queue": queue, "tier": "2"}) == 1
    assert consumed(queue, "dead_lettered") == 1


async def test_malformed_and_unparkable_messages_have_their_own_outcomes() -> None:
    malformed, queue = consumer(PermanentError("not json", reason="MALFORMED_EVENT"))
    await malformed._on_message(Message())  # type: ignore[arg-type]
    assert consumed(queue, "malformed") == 1

    stuck, queue = consumer(RuntimeError("boom"), Publisher(fails=True))
    await stuck._on_message(Message())  # type: ignore[arg-type]
    assert consumed(queue, "requeued") == 1
