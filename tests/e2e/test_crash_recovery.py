"""Nothing accepted is lost: webhooks the gateway acknowledged while payment-svc was dead, or that
were in flight when it died, are all applied exactly once after the stack restarts it."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from conftest import System

PAYMENT_SVC_HEALTH = "http://127.0.0.1:8082/health"


def _is_up() -> bool:
    try:
        return httpx.get(PAYMENT_SVC_HEALTH, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_restarted(system: System, old_pid: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = system.pid("payment-svc")
        except (FileNotFoundError, ValueError):
            pid = old_pid
        if pid != old_pid and _is_up():
            return pid
        time.sleep(0.2)
    raise AssertionError("payment-svc did not come back")


def _assert_paid_once(system: System, pairs: list[tuple[dict, dict]]) -> None:
    for order, payment in pairs:
        settled = system.wait_order(order["orderId"], {"PAID", "FAILED"}, timeout=60)
        assert settled["status"] == "PAID", settled
        assert [p["status"] for p in settled["payments"]] == ["SUCCESS"]
        assert settled["payment"]["id"] == payment["paymentId"]


def test_webhooks_accepted_while_payment_svc_is_dead_are_applied_after_restart(system: System) -> None:
    pairs = [system.pending_payment() for _ in range(25)]
    old_pid = system.pid("payment-svc")
    os.kill(old_pid, signal.SIGKILL)
    while _is_up():
        time.sleep(0.01)

    codes = [system.webhook(order, payment).status_code for order, payment in pairs]
    # still down after the last acceptance: every one was accepted with no consumer alive
    down_throughout = not _is_up()
    assert codes == [200] * len(pairs)
    assert down_throughout, "payment-svc came back before the webhooks were all sent; the test proved nothing"
    assert all(system.get_order(order["orderId"])["status"] == "CREATED" for order, _ in pairs)

    _wait_restarted(system, old_pid)
    _assert_paid_once(system, pairs)


def test_a_kill_in_the_middle_of_processing_loses_and_repeats_nothing(system: System) -> None:
    pairs = [system.pending_payment() for _ in range(60)]
    old_pid = system.pid("payment-svc")

    def send(index: int) -> int:
        order, payment = pairs[index]
        # every event twice under one id, as a gateway retrying after a lost answer would
        first = system.webhook(order, payment, event_id=f"evt_crash_{payment['paymentId']}").status_code
        again = system.webhook(order, payment, event_id=f"evt_crash_{payment['paymentId']}").status_code
        return max(first, again)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = pool.map(send, range(len(pairs)))
        time.sleep(0.05)
        os.kill(old_pid, signal.SIGKILL)
        codes = list(results)
    assert codes == [200] * len(pairs)

    _wait_restarted(system, old_pid)
    _assert_paid_once(system, pairs)
