"""Webhooks to a merchant, end to end: a real receiver (an aiohttp server on 127.0.0.1, which the stack's
WEBHOOK_ALLOWED_HTTP_HOSTS lets merchant-webhooks call over plain http) registered through order-svc for
every event (`*`); payments with mixed outcomes, manual captures and refunds made through the client API;
merchant-webhooks killed with `kill -9` part-way. Every delivery is verified as a merchant would, with the
Razorpay SDK's `verify_webhook_signature` and with the `standardwebhooks` library, and the event ids received
are exactly the ones the test's own actions imply (the ids are fixed by entity and event), each at least
once and any repeat under the same id; the delivery log shows them delivered.

`MERCHANT_WEBHOOK_PAYMENTS` sets how many payments (150 here; `make webhooks-load` runs 1,000). The run
prints its figures: deliveries, distinct events, repeats, and how long the last event took to arrive.
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import razorpay
import standardwebhooks
from aiohttp import web
from conftest import System

from order_svc.merchant_events.domain import event_id

PAYMENTS = int(os.environ.get("MERCHANT_WEBHOOK_PAYMENTS", "150"))
SERVICE = "merchant-webhooks"
MERCHANT_WEBHOOKS_HEALTH = os.environ.get("MERCHANT_WEBHOOKS_URL", "http://127.0.0.1:8085").rstrip("/") + "/health"
# the mock gateway's outcomes by test value (docs/api.md, "Test values")
SUCCEEDS, FAILS, REFUND_FAILS = "success@razorpay", "failure@razorpay", "success.refund-fails@razorpay"
DECLINED_WALLET = "freecharge"


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """The merchant's server: records every POST and answers 200; the events it heard go to `heard` too,
    which the test reacts to (a capture when a payment is authorised, a refund when one is captured)."""

    deliveries: list[Delivery] = field(default_factory=list)
    heard: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self.lock:
            self.deliveries.append(Delivery(body, dict(request.headers)))
        self.heard.put(orjson.loads(body))
        return web.Response(text="ok")

    def snapshot(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_post("/hooks", found.handle)
        app_runner = web.AppRunner(app, access_log=None)
        await app_runner.setup()
        site = web.TCPSite(app_runner, "127.0.0.1", 0)
        await site.start()
        found.port = app_runner.addresses[0][1]
        runner.append(app_runner)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert started.wait(10), "the receiver did not start"
    yield found
    asyncio.run_coroutine_threadsafe(runner[0].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def call(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """A request that waits out the API key's rate limit (429 with Retry-After) instead of failing on it."""
    while True:
        r = client.request(method, url, **kwargs)
        if r.status_code != 429:
            return r
        time.sleep(float(r.headers.get("Retry-After", "1")))


@dataclass
class Plan:
    """What the test did, and so which events it must hear: (event name, entity id) of each."""

    expected: set[tuple[str, str]] = field(default_factory=set)
    # every order, payment and refund the test made: what is not one of them is another test's
    entities: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # payment id -> what to do once it is authorised (capture) or captured (refund, to PROCESSED or FAILED)
    capture: dict[str, dict[str, Any]] = field(default_factory=dict)
    refund: dict[str, str] = field(default_factory=dict)
    # (event, payment id) heard, and those acted upon
    heard: set[tuple[str, str]] = field(default_factory=set)
    acted: set[tuple[str, str]] = field(default_factory=set)

    def expect(self, *pairs: tuple[str, str]) -> None:
        with self.lock:
            self.expected.update(pairs)
            self.entities.update(entity for _, entity in pairs)

    def ids(self) -> set[str]:
        with self.lock:
            return {event_id(entity, name) for name, entity in self.expected}


def start_payment(client: httpx.Client, plan: Plan, n: int) -> None:
    """Payment `n` of the mix: half succeed (a fifth of all refunded), a fifth fail at the gateway, a tenth
    succeed and have their refund fail, a tenth are captured manually, a tenth are declined wallets."""
    kind = n % 10
    manual = kind == 8
    body: dict[str, Any] = {"amount": 1000 + n, "currency": "INR"}
    if manual:
        body["capture"] = "manual"
    r = call(client, "POST", "/orders", json=body)
    assert r.status_code == 201, r.text
    order = r.json()
    if kind == 9:
        method = {"type": "wallet", "provider": DECLINED_WALLET}
    else:
        vpa = FAILS if kind in (5, 6) else REFUND_FAILS if kind == 7 else SUCCEEDS
        method = {"type": "upi", "vpa": vpa}
    r = call(client, "POST", "/payments/initiate", json={"orderId": order["orderId"], "method": method})
    assert r.status_code == 201, r.text
    payment_id, order_id = r.json()["paymentId"], order["orderId"]
    with plan.lock:
        plan.entities.update((payment_id, order_id))
    if kind in (5, 6, 9):
        plan.expect(("payment.failed", payment_id))
        return
    plan.expect(("payment.captured", payment_id), ("order.paid", order_id))
    if manual:
        plan.expect(("payment.authorized", payment_id))
        with plan.lock:
            plan.capture[payment_id] = {"amount": body["amount"], "currency": "INR"}
    if kind in (0, 1, 7):
        with plan.lock:
            plan.refund[payment_id] = "refund.failed" if kind == 7 else "refund.processed"
    # its events may have been heard before this answer came
    for name in ("payment.authorized", "payment.captured"):
        act(client, plan, name, payment_id)


def react(client: httpx.Client, plan: Plan, event: dict[str, Any]) -> None:
    """What the merchant's server does on hearing an event: capture what is authorised, refund what is
    captured (as the plan says, once each)."""
    payment_id = str(event["payload"].get("payment", {}).get("entity", {}).get("id"))
    with plan.lock:
        plan.heard.add((event["event"], payment_id))
    act(client, plan, event["event"], payment_id)


def act(client: httpx.Client, plan: Plan, name: str, payment_id: str) -> None:
    with plan.lock:
        if (name, payment_id) in plan.acted or (name, payment_id) not in plan.heard:
            return
        capture = plan.capture.get(payment_id) if name == "payment.authorized" else None
        settles_as = plan.refund.get(payment_id) if name == "payment.captured" else None
        if capture is None and settles_as is None:
            return
        plan.acted.add((name, payment_id))
    if capture is not None:
        r = call(client, "POST", f"/payments/{payment_id}/capture", json=capture)
        assert r.status_code == 200, r.text
    if settles_as is not None:
        r = call(client, "POST", f"/payments/{payment_id}/refunds", json={"amount": 300})
        assert r.status_code == 201, r.text
        plan.expect(("refund.created", r.json()["refundId"]), (settles_as, r.json()["refundId"]))


def entity_of(event: dict[str, Any]) -> str:
    """The id the event's own id is derived from: the refund's, the order's, or the payment's."""
    payload = event["payload"]
    if event["event"].startswith("refund."):
        return str(payload["refund"]["entity"]["id"])
    if event["event"] == "order.paid":
        return str(payload["order"]["entity"]["id"])
    return str(payload["payment"]["entity"]["id"])


def kill9(system: System) -> int:
    pid = system.pid(SERVICE)
    os.kill(pid, signal.SIGKILL)
    return pid


def wait_for(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f} s")
        time.sleep(0.2)


def merchant_webhooks_up() -> bool:
    try:
        return httpx.get(MERCHANT_WEBHOOKS_HEALTH, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_every_event_reaches_the_merchant_signed_exactly_by_id_through_a_kill_9(
    system: System, receiver: Receiver
) -> None:
    merchant = len(system.keys) - 1
    client = system.client_for(merchant)
    r = call(
        client,
        "POST",
        "/webhook-endpoints",
        json={"url": f"http://127.0.0.1:{receiver.port}/hooks", "events": ["*"], "description": "e2e receiver"},
    )
    assert r.status_code == 201, r.text
    endpoint = r.json()
    secret = endpoint["secret"]
    assert "secret" not in call(client, "GET", f"/webhook-endpoints/{endpoint['id']}").json()

    plan = Plan()
    killed: int | None = None
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            started_payments: list[Future[None]] = [
                pool.submit(start_payment, client, plan, n) for n in range(PAYMENTS)
            ]
            reactions: list[Future[None]] = []
            while not all(f.done() for f in started_payments) or not all(f.done() for f in reactions):
                # part-way through the payments, the delivery process dies without a word
                if killed is None and sum(f.done() for f in started_payments) >= PAYMENTS * 2 // 5:
                    killed = kill9(system)
                try:
                    heard = receiver.heard.get(timeout=0.1)
                except queue.Empty:
                    continue
                reactions.append(pool.submit(react, client, plan, heard))
            for f in [*started_payments, *reactions]:
                f.result()
            assert killed is not None
            wait_for(merchant_webhooks_up, 90, "merchant-webhooks restarted after kill -9")
            assert system.pid(SERVICE) != killed

            # what the reactions to late events still add (a refund of a payment captured just now)
            def complete() -> bool:
                while True:
                    try:
                        heard = receiver.heard.get_nowait()
                    except queue.Empty:
                        break
                    pool.submit(react, client, plan, heard).result()
                received = {d.headers["X-Razorpay-Event-Id"] for d in receiver.snapshot()}
                return plan.ids() <= received

            wait_for(complete, 120 + PAYMENTS * 0.2, "every expected event delivered")
        last_arrived = time.monotonic() - started
        # a moment more for a repeat or a stray event to show up, then the verdict
        time.sleep(2)
        deliveries = receiver.snapshot()
        r = call(client, "GET", f"/webhook-endpoints/{endpoint['id']}/deliveries", params={"limit": 100})
        assert r.status_code == 200, r.text
        log = r.json()["items"]
    finally:
        call(client, "DELETE", f"/webhook-endpoints/{endpoint['id']}")

    verifier = razorpay.Utility(None)
    by_id: dict[str, set[bytes]] = {}
    mine: dict[str, tuple[str, str]] = {}
    strays: set[str] = set()
    expected = {event_id(entity, name): (name, entity) for name, entity in plan.expected}
    for delivery in deliveries:
        headers = delivery.headers
        # the SDK raises SignatureVerificationError on a wrong signature
        verifier.verify_webhook_signature(delivery.body.decode(), headers["X-Razorpay-Signature"], secret)
        event = standardwebhooks.Webhook(secret).verify(delivery.body, headers)
        assert headers["X-Razorpay-Event-Id"] == headers["webhook-id"]
        assert event["entity"] == "event" and event["contains"] and isinstance(event["created_at"], int)
        if entity_of(event) not in plan.entities:
            # another test's payment of this merchant, settled while the endpoint was listening
            strays.add(headers["webhook-id"])
            continue
        by_id.setdefault(headers["webhook-id"], set()).add(delivery.body)
        mine[headers["webhook-id"]] = (event["event"], entity_of(event))
    # exactly the events the test's actions imply, each under the id fixed by its entity and event
    assert set(by_id) == set(expected)
    assert all(mine[evt] == expected[evt] for evt in expected)
    # a repeat is the same event again: same id, same body
    assert all(len(bodies) == 1 for bodies in by_id.values())
    names = Counter(name for name, _ in plan.expected)
    repeats = len(deliveries) - len(by_id) - sum(d.headers["webhook-id"] in strays for d in deliveries)
    print(
        f"\nmerchant webhooks: {PAYMENTS} payments, {len(by_id)} events ({dict(sorted(names.items()))}), "
        f"{len(deliveries)} deliveries, {repeats} repeats, {len(strays)} events of other tests, "
        f"kill -9 of pid {killed}, last event {last_arrived:.1f} s after the first request"
    )

    # the delivery log (its newest 100): each of them one of these events, each attempt logged
    assert len(log) == min(100, len(by_id) + len(strays))
    for item in log:
        assert item["endpointId"] == endpoint["id"] and item["attempts"]
        if item["eventId"] in expected:
            assert item["event"] == expected[item["eventId"]][0]
        if item["status"] == "delivered":
            assert item["attempts"][-1]["statusCode"] == 200


def test_the_delivery_log_shows_each_delivery_with_its_attempts(system: System, receiver: Receiver) -> None:
    client = system.client_for(len(system.keys) - 1)
    r = call(client, "POST", "/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/hooks", "events": ["*"]})
    assert r.status_code == 200, r.text
    webhook = r.json()
    assert (webhook["entity"], webhook["active"]) == ("webhook", True)
    try:
        order = call(client, "POST", "/orders", json={"amount": 4200, "currency": "INR"}).json()
        body = {"orderId": order["orderId"], "method": {"type": "upi", "vpa": SUCCEEDS}}
        payment = call(client, "POST", "/payments/initiate", json=body).json()
        wanted = {event_id(payment["paymentId"], "payment.captured"), event_id(order["orderId"], "order.paid")}

        def logged() -> list[dict[str, Any]]:
            r = call(client, "GET", f"/webhook-endpoints/{webhook['id']}/deliveries", params={"limit": 100})
            assert r.status_code == 200, r.text
            return [d for d in r.json()["items"] if d["eventId"] in wanted]

        wait_for(lambda: len(logged()) == 2 and all(d["status"] == "delivered" for d in logged()), 60, "logged")
        for delivery in logged():
            assert delivery["endpointId"] == webhook["id"] and delivery["nextAttemptAt"] is None
            assert delivery["attempts"][-1]["statusCode"] == 200
        received = {d.headers["webhook-id"] for d in receiver.snapshot()}
        assert wanted <= received

        # the same log, the /v1 way; and a redelivery, under the same event id
        v1 = call(client, "GET", f"/v1/webhooks/{webhook['id']}/deliveries", params={"count": 100}).json()
        assert v1["entity"] == "collection" and wanted <= {d["event_id"] for d in v1["items"]}
        first = logged()[0]
        again = call(client, "POST", f"/webhook-deliveries/{first['id']}/redeliver")
        assert again.status_code == 202, again.text
        wait_for(
            lambda: sum(d.headers["webhook-id"] == first["eventId"] for d in receiver.snapshot()) >= 2,
            30,
            "the redelivery",
        )
    finally:
        assert call(client, "DELETE", f"/v1/webhooks/{webhook['id']}").json()["deleted"] is True
