"""The console's webhook deliveries against the whole running system (`make browser`): a webhook endpoint
registered through the client API for an HTTP receiver this test runs on 127.0.0.1 (the stack lets
merchant-webhooks call plain http there), a payment made, and its `order.paid` delivery found in the list by
its endpoint and event id, read attempt by attempt, redelivered from its page (a second POST of the same event
id reaches the receiver, a second attempt is logged, the operator's action is recorded) and a redelivery
without the session's CSRF token refused. The list's and the delivery's screenshots go to docs/images/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from order_svc.merchant_events.domain import event_id

from .conftest import Console, login
from .seed import Driver
from .test_console_system import shot

SUCCEEDS = {"type": "upi", "vpa": "success@razorpay"}


class Receiver:
    """The merchant's server: answers 200 to every POST and keeps the event id of each."""

    def __init__(self) -> None:
        self.event_ids: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.event_ids.append(self.headers.get("X-Razorpay-Event-Id", ""))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def received(self, event: str) -> int:
        with self.lock:
            return self.event_ids.count(event)

    def wait_for(self, event: str, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.received(event) < count:
            assert time.monotonic() < deadline, f"{event} reached the receiver {self.received(event)} times"
            time.sleep(0.2)


@pytest.fixture
def receiver(system: Console) -> Iterator[Receiver]:
    found = Receiver()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()
    thread.join(10)


@pytest.fixture
def endpoint(receiver: Receiver) -> Iterator[dict[str, Any]]:
    """The merchant's endpoint for `order.paid`, deleted afterwards so that nothing later delivers to a
    receiver that is gone."""
    driver = Driver()
    r = driver.api.post(
        "/webhook-endpoints", json={"url": receiver.url, "events": ["order.paid"], "description": "console test"}
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    yield created
    deleted = driver.api.delete(f"/webhook-endpoints/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True, deleted.text


def _figure(page: Page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').first.inner_text().strip()


def test_a_delivery_is_listed_read_and_redelivered(
    page: Page, system: Console, receiver: Receiver, endpoint: dict[str, Any]
) -> None:
    driver = Driver()
    paid = driver.pay(0, SUCCEEDS)
    event = event_id(paid["orderId"], "order.paid")
    receiver.wait_for(event, 1)
    deadline = time.monotonic() + 30
    while not (rows := driver.sql("SELECT * FROM merchant_webhooks.deliveries WHERE event_id = $1", event)):
        assert time.monotonic() < deadline, "no delivery was recorded"
        time.sleep(0.2)
    [row] = rows
    assert row["endpoint_id"] == endpoint["id"]
    delivery_id = row["id"]

    login(page, system)
    page.goto(f"{system.url}/webhooks")
    page.get_by_label("Endpoint").fill(endpoint["id"])
    page.get_by_label("Event id").fill(event)
    page.get_by_role("button", name="Search").click()
    listed = page.locator(f'tr[data-delivery-id="{delivery_id}"]')
    # the worker records the attempt a moment after the receiver answered: the page's own refresh shows it
    expect(page.locator(f'[data-figure="status-{delivery_id}"]')).to_have_text("delivered", timeout=30_000)
    assert page.locator("tr[data-delivery-id]").count() == 1
    expect(listed).to_contain_text("order.paid")
    expect(listed).to_contain_text(row["merchant_id"])
    expect(listed).to_contain_text("HTTP 200")
    assert _figure(page, f"attempts-{delivery_id}") == "1"
    shot(page, "console-webhooks.png")

    listed.get_by_role("link", name="order.paid").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(delivery_id)
    expect(page.locator('[data-figure="status"]')).to_have_text("delivered")
    assert _figure(page, "attempts") == "1"
    expect(page.locator('tr[data-attempt="1"]')).to_contain_text("HTTP 200")

    # a forged form from elsewhere carries the browser's cookies at best, never the session's token
    refused = page.request.post(f"{system.url}/webhooks/{delivery_id}/redeliver", form={}, max_redirects=0)
    assert refused.status == 403
    assert driver.sql("SELECT status FROM merchant_webhooks.deliveries WHERE id = $1", delivery_id) == [
        {"status": "delivered"}
    ]

    page.get_by_role("button", name="Redeliver").click()
    expect(page.get_by_role("status").filter(has_text="Redelivery requested")).to_be_visible()
    receiver.wait_for(event, 2)
    expect(page.locator('[data-figure="attempts"]')).to_have_text("2", timeout=30_000)
    expect(page.locator('[data-figure="status"]')).to_have_text("delivered")
    expect(page.locator('tr[data-attempt="2"]')).to_contain_text("HTTP 200")
    assert receiver.received(event) == 2
    shot(page, "console-webhook-delivery.png")
    actions = driver.sql("SELECT operator, action FROM console.audit_log WHERE target = $1", f"delivery {delivery_id}")
    assert actions == [{"operator": system.operator, "action": "webhook.redeliver"}]
