"""Every service of the running system answers its probes and its metrics: /healthz, /readyz with the
checks its app.py registered (all passing), and /metrics in Prometheus's text format."""

from __future__ import annotations

import os

import httpx
import pytest
from conftest import System

# each service, the variable payments-stack gives its URL by, its default, and the checks it registers
SERVICES = {
    "order-svc": ("API_URL", "http://127.0.0.1:8080", {"database", "migrations", "broker"}),
    "webhook-gateway": ("WEBHOOK_URL", "http://127.0.0.1:8081", {"broker"}),
    "payment-svc": ("PAYMENT_SVC_URL", "http://127.0.0.1:8082", {"database", "migrations", "broker"}),
    "mock-gateway": ("MOCK_GATEWAY_URL", "http://127.0.0.1:8083", {"database", "migrations"}),
    "payments-console": ("CONSOLE_URL", "", {"database", "migrations"}),
}


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_service_answers_healthz_readyz_and_metrics(system: System, service: str) -> None:
    variable, default, checks = SERVICES[service]
    url = (os.environ.get(variable) or default).rstrip("/")
    if not url:
        pytest.skip(f"{variable} is not set: this stack runs no {service}")
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ready"
        assert set(body["checks"]) == checks
        assert all(check["ok"] for check in body["checks"].values())
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "service_ready{" in metrics.text
        assert "http_requests_total{" in metrics.text
        # the old liveness path stays
        assert client.get("/health").status_code == 200


def test_a_settled_payment_shows_in_the_metrics(system: System) -> None:
    order = system.create_order()
    r = system.initiate(order["orderId"], vpa="success@razorpay")
    assert r.status_code == 201, r.text
    system.wait_order(order["orderId"], {"PAID"})
    webhooks = httpx.get(f"{system.webhook_url}/metrics", timeout=10).text
    assert 'webhooks_received_total{kind="payment"}' in webhooks
    payments = httpx.get(f"{system.payment_svc_url}/metrics", timeout=10).text
    assert 'gateway_request_duration_seconds_count{operation="create_payment",status="' in payments
    assert "anomalies_open " in payments
    assert 'dead_letter_messages{queue="payment-svc.webhooks.dlq"}' in payments


def test_the_admin_api_reports_queue_depths_and_the_reconcilers_last_pass(system: System) -> None:
    r = system.admin.get("/admin/queues")
    assert r.status_code == 200, r.text
    depths = {q["queue"]: q for q in r.json()["queues"]}
    assert depths["payment-svc.webhooks"]["exists"] and depths["payment-svc.webhooks"]["consumers"] >= 1
    assert "payment-svc.webhooks.dlq" in depths
    system.reconcile()
    r = system.admin.get("/admin/reconcile/last")
    assert r.status_code == 200, r.text
    last = r.json()["lastRun"]
    assert last is not None and last["finishedAt"] >= last["startedAt"]
