"""A monthly subscription end to end, driven through the Razorpay SDK over its twelve cycles by a test
clock: the first payment made through the checkout authenticates it (its signature checked with the SDK's
`verify_subscription_payment_signature`), every later cycle is charged by the scheduler with the token of
that payment through payment-svc and the mock gateway; cycle 4's charge is declined once and recovers on
its retry a day later, cycle 12's is declined at every retry (1, 3 and 5 days) and the subscription halts;
order-svc, which runs the scheduler, is killed with `kill -9` right after the clock passes cycle 7's start.

It checks exactly one successful charge per paid cycle (and exactly the retries' attempts where charges
fail), the invoices, and the merchant webhooks a receiver of the test hears, verified with the SDK."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import razorpay
import requests
from aiohttp import web
from conftest import System

MOCK_GATEWAY = os.environ.get("MOCK_GATEWAY_URL", "http://127.0.0.1:8083").rstrip("/")
ORDER_SVC_PORT = 8080
ORDER_SVC_HEALTH = os.environ.get("API_URL", "http://127.0.0.1:8080").rstrip("/") + "/health"
START = datetime(2027, 1, 15, 10, 0, tzinfo=UTC)
CARD = {"number": "4111111111111111", "expiry_month": "12", "expiry_year": "35", "cvv": "123", "name": "Asha Rao"}
EVENTS = [
    "subscription.authenticated",
    "subscription.activated",
    "subscription.charged",
    "subscription.pending",
    "subscription.halted",
    "subscription.cancelled",
    "subscription.completed",
]
RECOVERS, HALTS, KILLED_AT = 4, 12, 7


class Receiver:
    """The merchant's server: every POST recorded (body, signature, event id) and answered 200."""

    def __init__(self) -> None:
        self.bodies: queue.Queue[tuple[bytes, str, str]] = queue.Queue()
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        headers = request.headers
        body = await request.read()
        self.bodies.put((body, headers.get("X-Razorpay-Signature", ""), headers.get("X-Razorpay-Event-Id", "")))
        return web.Response(text="ok")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runners: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_post("/hooks", found.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        found.port = runner.addresses[0][1]
        runners.append(runner)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert started.wait(10), "the receiver did not start"
    yield found
    asyncio.run_coroutine_threadsafe(runners[0].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _until(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except (httpx.HTTPError, requests.RequestException, razorpay.errors.ServerError):
            found = None  # order-svc restarting
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


class Run:
    def __init__(self, system: System, client: razorpay.Client, http: httpx.Client, sub_id: str, clock: str) -> None:
        self.system, self.client, self.http, self.sub_id, self.clock = system, client, http, sub_id, clock

    def advance(self, to: datetime) -> None:
        r = self.http.post(f"/v1/test_clocks/{self.clock}/advance", json={"frozen_time": int(to.timestamp())})
        assert r.status_code == 200, r.text

    def invoices(self) -> list[dict[str, Any]]:
        items = self.client.invoice.all({"subscription_id": self.sub_id, "count": 100})["items"]
        return sorted(items, key=lambda invoice: invoice["cycle"])

    def invoice(self, cycle: int, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            matching = [invoice for invoice in self.invoices() if invoice["cycle"] == cycle]
            return matching[0] if matching and check(matching[0]) else None

        return dict(_until(f"cycle {cycle}'s invoice {what}", found))

    def status(self, wanted: str) -> dict[str, Any]:
        return dict(
            _until(
                f"the subscription {wanted}",
                lambda: (s := self.client.subscription.fetch(self.sub_id))["status"] == wanted and s,
            )
        )

    def switch(self, token: str, declines: bool) -> None:
        r = self.system.raw.put(f"{MOCK_GATEWAY}/v1/test/tokens/{token}", json={"declines": declines})
        assert r.status_code == 200, r.text

    def kill_order_svc(self) -> None:
        old = _listening(ORDER_SVC_PORT)
        assert old is not None, "no process listens on order-svc's port"
        os.kill(old, signal.SIGKILL)

        def back() -> bool:
            pid = _listening(ORDER_SVC_PORT)
            return pid is not None and pid != old and httpx.get(ORDER_SVC_HEALTH, timeout=1).status_code == 200

        _until("order-svc restarted", back, timeout=60)


def _listening(port: int) -> int | None:
    """The pid of the process listening on 127.0.0.1:`port` (its socket's inode, found among the fds)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                return int(entry.name)
        except OSError:
            continue
    return None


def _cycle_start(cycle: int) -> datetime:
    months = START.month - 1 + cycle - 1
    return START.replace(year=START.year + months // 12, month=months % 12 + 1)


def test_a_monthly_subscription_over_twelve_cycles(system: System, receiver: Receiver) -> None:
    client = razorpay.Client(auth=system.keys[0], base_url=system.api_url)
    http = system.client_for(0)
    hook = http.post(
        "/v1/webhooks",
        json={"url": f"http://127.0.0.1:{receiver.port}/hooks", "events": EVENTS},
    )
    assert hook.status_code == 200, hook.text
    try:
        _twelve_cycles(system, client, http, receiver, hook.json()["secret"])
    finally:
        http.delete(f"/v1/webhooks/{hook.json()['id']}")


def _twelve_cycles(
    system: System, client: razorpay.Client, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    clock = http.post("/v1/test_clocks", json={"frozen_time": int(START.timestamp()), "name": "twelve months"})
    assert clock.status_code == 200, clock.text
    plan = client.plan.create(
        {"period": "monthly", "interval": 1, "item": {"name": "Gold", "amount": 49900, "currency": "INR"}}
    )
    assert client.plan.fetch(plan["id"])["item"]["amount"] == 49900
    sub = client.subscription.create(
        {"plan_id": plan["id"], "total_count": 12, "test_clock": clock.json()["id"], "notes": {"tier": "gold"}}
    )
    assert (sub["status"], sub["paid_count"], sub["remaining_count"]) == ("created", 0, 12)
    assert sub["id"] in [item["id"] for item in client.subscription.all({"count": 100})["items"]]
    run = Run(system, client, http, sub["id"], clock.json()["id"])

    # the customer pays cycle 1's order through the checkout: that payment authenticates the subscription
    order = sub["auth_order_id"]
    paid = client.payment.createPaymentJson(
        {
            "amount": 49900,
            "currency": "INR",
            "order_id": order,
            "method": "card",
            "card": CARD,
            "email": "asha@example.com",
            "contact": "+919000090000",
        }
    )
    active = run.status("active")
    assert active["paid_count"] == 1
    checkout = http.get(f"/v1/subscriptions/{sub['id']}/checkout").json()
    assert checkout["razorpay_payment_id"] == paid["razorpay_payment_id"]
    assert client.utility.verify_subscription_payment_signature(
        {key: checkout[key] for key in ("razorpay_payment_id", "razorpay_subscription_id", "razorpay_signature")}
    )
    token = system.sql("SELECT token FROM orders.subscriptions WHERE id = $1", sub["id"])[0]["token"]

    for cycle in range(2, HALTS + 1):
        if cycle in (RECOVERS, HALTS):
            run.switch(token, declines=True)
        run.advance(_cycle_start(cycle))
        if cycle == KILLED_AT:
            run.kill_order_svc()
        if cycle == RECOVERS:
            run.invoice(cycle, lambda i: i["charge_attempts"] == 1 and i["next_charge_at"] is not None, "retrying")
            assert run.status("pending")
            run.switch(token, declines=False)
            run.advance(_cycle_start(cycle) + timedelta(days=1))
        if cycle == HALTS:
            at = _cycle_start(cycle)
            for attempt, wait in enumerate((1, 3, 5), start=1):
                run.invoice(cycle, lambda i, n=attempt: i["charge_attempts"] == n and i["next_charge_at"], "retrying")
                at += timedelta(days=wait)
                run.advance(at)
            run.invoice(cycle, lambda i: i["status"] == "expired", "given up")
            break
        run.invoice(cycle, lambda i: i["status"] == "paid", "paid")

    halted = run.status("halted")
    assert (halted["paid_count"], halted["remaining_count"], halted["charge_at"]) == (11, 1, None)
    # time goes on, and nothing more is charged (the scheduler has a pass at once, and another 2 s later)
    run.advance(_cycle_start(HALTS) + timedelta(days=60))
    time.sleep(3)

    invoices = run.invoices()
    assert [invoice["cycle"] for invoice in invoices] == list(range(1, 13))
    assert [invoice["status"] for invoice in invoices] == ["paid"] * 11 + ["expired"]
    assert all(invoice["amount"] == 49900 and invoice["subscription_id"] == sub["id"] for invoice in invoices)
    assert [datetime.fromtimestamp(i["billing_start"], UTC) for i in invoices] == [
        _cycle_start(c) for c in range(1, 13)
    ]
    for invoice in invoices:
        payments = client.order.payments(invoice["order_id"])["items"]
        statuses = Counter(payment["status"] for payment in payments)
        if invoice["cycle"] == RECOVERS:
            assert statuses == Counter({"failed": 1, "captured": 1}), invoice
        elif invoice["cycle"] == HALTS:
            assert statuses == Counter({"failed": 4}), invoice
        else:
            assert statuses == Counter({"captured": 1}), invoice
        if invoice["status"] == "paid":
            assert invoice["payment_id"] == next(p["id"] for p in payments if p["status"] == "captured")

    expected = Counter(
        {
            "subscription.authenticated": 1,
            "subscription.activated": 2,
            "subscription.charged": 11,
            "subscription.pending": 2,
            "subscription.halted": 1,
        }
    )
    heard: dict[str, dict[str, Any]] = {}

    def all_heard() -> bool:
        while not receiver.bodies.empty():
            body, signature, event_id = receiver.bodies.get()
            client.utility.verify_webhook_signature(body.decode(), signature, secret)
            event = orjson.loads(body)
            if event["payload"]["subscription"]["entity"]["id"] == sub["id"]:
                heard[event_id] = event  # a repeat comes under the same id
        return Counter(event["event"] for event in heard.values()) == expected

    _until("the merchant webhooks", all_heard)
    charged = {e["payload"]["payment"]["entity"]["id"] for e in heard.values() if e["event"] == "subscription.charged"}
    assert charged == {invoice["payment_id"] for invoice in invoices[:11]}
