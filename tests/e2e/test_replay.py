"""A captured webhook sent again, byte for byte: inside the tolerance window it is answered 200 and
applied once, however many copies are queued or being applied at the same time; outside the window
the timestamp check refuses it, re-signed or not, and nothing changes.

The webhook gateway keeps no replay cache: a replay inside the window is the same event under the same
`webhook-id`, and payment-svc's inbox applies each id once (docs/architecture.md, Replays).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import aio_pika
import httpx
import pytest
from conftest import System

from payments_common.signatures import payment_signature, sign_webhook

WEBHOOK_QUEUE = "payment-svc.webhooks"
WEBHOOK_CONSUMER = "payment-svc.webhooks"
TOLERANCE = int(os.environ.get("WEBHOOK_TOLERANCE_SECONDS", "300"))


@dataclass(frozen=True)
class Capture:
    """One webhook exactly as it went over the wire: replaying it sends these bytes and headers."""

    event_id: str
    body: bytes
    headers: dict[str, str]


def capture(system: System, order: dict[str, Any], payment: dict[str, Any], timestamp: int | None = None) -> Capture:
    body = json.dumps(
        {
            "orderId": order["orderId"],
            "paymentId": payment["paymentId"],
            "gatewayPaymentId": payment["gatewayPaymentId"],
            "signature": payment_signature(system.payment_secret, order["orderId"], payment["gatewayPaymentId"]),
            "status": "SUCCESS",
        }
    ).encode()
    event_id = f"evt_replay_{uuid.uuid4().hex}"
    headers = sign_webhook(system.webhook_key, event_id, body, timestamp).as_dict()
    return Capture(event_id, body, {**headers, "content-type": "application/json"})


def send(system: System, sent: Capture) -> httpx.Response:
    return system.raw.post(f"{system.webhook_url}/webhook/payment", content=sent.body, headers=sent.headers)


def effects(system: System, payment_id: str, event_id: str) -> dict[str, Any]:
    """What a webhook for this payment can have changed, in payment-svc's tables."""
    [payment] = system.sql("SELECT status FROM payments.payments WHERE id = $1", payment_id)
    settled = system.sql(
        "SELECT count(*) AS n FROM payments.payment_events WHERE payment_id = $1 AND kind = 'settled'", payment_id
    )[0]["n"]
    trail = system.sql("SELECT count(*) AS n FROM payments.payment_events WHERE payment_id = $1", payment_id)[0]["n"]
    inbox = system.sql(
        "SELECT count(*) AS n FROM payments.inbox WHERE consumer = $1 AND message_id = $2", WEBHOOK_CONSUMER, event_id
    )[0]["n"]
    return {"status": payment["status"], "settled_rows": settled, "trail_rows": trail, "inbox_rows": inbox}


def ready_in_queue(system: System, queue: str = WEBHOOK_QUEUE) -> int:
    async def count() -> int:
        connection = await aio_pika.connect(system.amqp_url)
        try:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            return declared.declaration_result.message_count or 0
        finally:
            await connection.close()

    return asyncio.run(count())


def duplicates_logged(system: System, event_id: str) -> int | None:
    """How many copies of `event_id` payment-svc's consumer found already claimed (None: no log file)."""
    log_file = system.run_dir / "logs" / "payment-svc.log"
    if not log_file.exists():
        return None
    found = 0
    with log_file.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if event_id in line and "webhook.duplicate_ignored" in line:
                found += 1
    return found


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def assert_applied_once(system: System, order: dict[str, Any], payment: dict[str, Any], sent: Capture) -> None:
    assert system.wait_order(order["orderId"], {"PAID", "FAILED"})["status"] == "PAID"
    after = effects(system, payment["paymentId"], sent.event_id)
    assert after["status"] == "SUCCESS"
    assert after["settled_rows"] == 1, after
    assert after["inbox_rows"] == 1, after


# ---------------------------------------------------------------------------------------------
# inside the window
# ---------------------------------------------------------------------------------------------


def test_a_replay_inside_the_window_is_answered_200_and_applied_once(system: System) -> None:
    order, payment = system.pending_payment()
    sent = capture(system, order, payment)
    assert send(system, sent).status_code == 200
    assert_applied_once(system, order, payment, sent)

    # the same bytes and headers again, after the first was applied
    assert [send(system, sent).status_code for _ in range(3)] == [200, 200, 200]
    if duplicates_logged(system, sent.event_id) is not None:
        wait_for(lambda: duplicates_logged(system, sent.event_id) == 3, 20, "the replays to be consumed")
    assert_applied_once(system, order, payment, sent)
    assert len(system.get_order(order["orderId"])["payments"]) == 1


def test_concurrent_replays_while_the_first_is_being_applied_apply_once(system: System) -> None:
    order, payment = system.pending_payment()
    sent = capture(system, order, payment)
    # all copies in flight at once: several are consumed while another holds the inbox claim
    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(lambda _: send(system, sent).status_code, range(10)))
    assert codes == [200] * 10
    if duplicates_logged(system, sent.event_id) is not None:
        wait_for(lambda: duplicates_logged(system, sent.event_id) == 9, 20, "every copy to be consumed")
    assert_applied_once(system, order, payment, sent)


def _payment_svc_up(system: System) -> bool:
    try:
        return httpx.get(f"{system.payment_svc_url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def payment_svc_held(system: System) -> Iterator[Callable[[], None]]:
    """payment-svc stopped and kept down by the stack's hold file (`.run/hold/payment-svc`); yields
    the release, which the exit also does, so a failing test never leaves it down."""
    hold = system.run_dir / "hold" / "payment-svc"
    pid_file = system.run_dir / "pids" / "payment-svc.pid"
    hold.parent.mkdir(parents=True, exist_ok=True)
    hold.touch()

    def release() -> None:
        if hold.exists():
            hold.unlink()
            wait_for(lambda: _payment_svc_up(system), 60, "payment-svc to be started again")

    try:
        os.kill(system.pid("payment-svc"), signal.SIGTERM)
        # the stack removes the pid file of a held service once it has exited
        wait_for(lambda: not pid_file.exists() and not _payment_svc_up(system), 30, "payment-svc to stop")
        yield release
    finally:
        release()


def test_replays_queued_behind_the_first_copy_apply_once(system: System) -> None:
    order, payment = system.pending_payment()
    sent = capture(system, order, payment)
    with payment_svc_held(system) as release:
        before = ready_in_queue(system)
        # the original and two replays, all accepted while no consumer runs
        assert [send(system, sent).status_code for _ in range(3)] == [200, 200, 200]
        assert ready_in_queue(system) >= before + 3, "the three copies are not waiting in the queue"
        time.sleep(0.5)
        held = effects(system, payment["paymentId"], sent.event_id)
        assert (held["status"], held["settled_rows"], held["inbox_rows"]) == ("INITIATED", 0, 0)
        assert not _payment_svc_up(system), "payment-svc came back while held: the test proved nothing"
        release()

    assert_applied_once(system, order, payment, sent)
    if duplicates_logged(system, sent.event_id) is not None:
        wait_for(lambda: duplicates_logged(system, sent.event_id) == 2, 20, "both replays to be consumed")
    assert_applied_once(system, order, payment, sent)


# ---------------------------------------------------------------------------------------------
# outside the window
# ---------------------------------------------------------------------------------------------


def _refused_by_the_timestamp_check(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["success"] is False
    assert answer["error"]["code"] == "INVALID_SIGNATURE"
    assert "tolerance" in answer["error"]["description"]


@pytest.mark.parametrize("age", [TOLERANCE + 60, 86_400])
def test_a_capture_older_than_the_window_is_refused_and_changes_nothing(system: System, age: int) -> None:
    order, payment = system.pending_payment()
    # signed when it was sent, long ago: its signature is valid for its own timestamp
    old = capture(system, order, payment, timestamp=int(time.time()) - age)
    before = effects(system, payment["paymentId"], old.event_id)
    _refused_by_the_timestamp_check(send(system, old))

    # a fresh capture whose timestamp header is rolled back without re-signing
    fresh = capture(system, order, payment)
    stale = Capture(fresh.event_id, fresh.body, {**fresh.headers, "webhook-timestamp": str(int(time.time()) - age)})
    _refused_by_the_timestamp_check(send(system, stale))

    time.sleep(1.0)
    assert effects(system, payment["paymentId"], old.event_id) == before
    assert effects(system, payment["paymentId"], fresh.event_id)["inbox_rows"] == 0
    assert system.get_order(order["orderId"])["status"] == "CREATED"


def test_a_capture_dated_in_the_future_is_refused_and_changes_nothing(system: System) -> None:
    order, payment = system.pending_payment()
    ahead = capture(system, order, payment, timestamp=int(time.time()) + TOLERANCE + 60)
    before = effects(system, payment["paymentId"], ahead.event_id)
    _refused_by_the_timestamp_check(send(system, ahead))
    time.sleep(1.0)
    assert effects(system, payment["paymentId"], ahead.event_id) == before
    assert system.get_order(order["orderId"])["status"] == "CREATED"
