"""Idempotency-Key on the client POSTs, against the running system."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from conftest import System

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def order_body(receipt: str, amount: int = 1500) -> dict[str, Any]:
    return {"amount": amount, "currency": "INR", "receipt": receipt, "notes": {"b": "2", "a": "1"}}


def orders_with_receipt(system: System, receipt: str) -> int:
    return int(system.sql("SELECT count(*) AS n FROM orders.orders WHERE receipt = $1", receipt)[0]["n"])


def test_a_retried_create_replays_the_first_answer_and_creates_one_order(system: System) -> None:
    key, receipt = unique("create"), unique("r")
    first = system.api.post("/orders", json=order_body(receipt), headers={HEADER: key})
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers

    # the same body spelt with its keys in another order and other whitespace
    spelt = (
        b'{ "notes": {"a": "1", "b": "2"}, "receipt": "' + receipt.encode() + b'", "currency": "INR", "amount": 1500 }'
    )
    again = system.api.post("/orders", content=spelt, headers={HEADER: key, "Content-Type": "application/json"})
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers[REPLAYED] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert orders_with_receipt(system, receipt) == 1


def test_the_key_with_another_body_is_a_422_and_creates_nothing(system: System) -> None:
    key, receipt = unique("reuse"), unique("r")
    assert system.api.post("/orders", json=order_body(receipt), headers={HEADER: key}).status_code == 201
    other = system.api.post("/orders", json=order_body(receipt, amount=1501), headers={HEADER: key})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    # another route with the key is another request as well
    initiate = system.api.post("/payments/initiate", json={"orderId": "order_x"}, headers={HEADER: key})
    assert initiate.status_code == 422
    assert orders_with_receipt(system, receipt) == 1


def test_twenty_concurrent_creates_with_one_key_make_one_order_and_no_5xx(system: System) -> None:
    key, receipt = unique("burst"), unique("r")
    start = threading.Barrier(20)
    clients = [system.client_for(0) for _ in range(20)]

    def create(client: httpx.Client) -> httpx.Response:
        start.wait(10)
        return client.post("/orders", json=order_body(receipt), headers={HEADER: key})

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(create, clients))
    for client in clients:
        client.close()

    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert all(a.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE" for a in answers if a.status_code == 409)
    created = {a.content for a in answers if a.status_code == 201}
    assert len(created) == 1
    assert orders_with_receipt(system, receipt) == 1
    # once done, a retry is the replay
    late = system.api.post("/orders", json=order_body(receipt), headers={HEADER: key})
    assert (late.status_code, late.content, late.headers[REPLAYED]) == (201, next(iter(created)), "true")


def test_another_merchants_same_key_is_its_own(system: System) -> None:
    key, receipt = unique("shared"), unique("r")
    mine = system.api.post("/orders", json=order_body(receipt), headers={HEADER: key})
    with system.client_for(1) as other:
        theirs = other.post("/orders", json=order_body(receipt), headers={HEADER: key})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert REPLAYED not in theirs.headers
    assert theirs.json()["orderId"] != mine.json()["orderId"]
    assert orders_with_receipt(system, receipt) == 2


def test_a_retried_initiate_replays_the_attempt(system: System) -> None:
    order = system.create_order()
    key = unique("initiate")
    body = {"orderId": order["orderId"], "method": {"type": "upi", "vpa": "pending@razorpay"}}
    first = system.api.post("/payments/initiate", json=body, headers={HEADER: key})
    assert first.status_code == 201, first.text
    again = system.api.post("/payments/initiate", json=body, headers={HEADER: key})
    assert (again.status_code, again.content, again.headers[REPLAYED]) == (201, first.content, "true")
    # without the key the same call is a new request, refused while the attempt is in progress
    assert system.initiate(order["orderId"], vpa="pending@razorpay").status_code == 409
    assert len(system.get_order(order["orderId"])["payments"]) == 1


def test_a_malformed_key_is_a_400_naming_the_header(system: System) -> None:
    receipt = unique("r")
    r = system.api.post("/orders", json=order_body(receipt), headers={HEADER: "k" * 256})
    assert r.status_code == 400
    assert r.json()["error"]["field"] == HEADER
    assert orders_with_receipt(system, receipt) == 0


def _as_if_its_process_died(system: System, key: str) -> None:
    """The key's row as a process leaves it that dies after creating the resource and before storing
    the answer: still in progress, no answer, claimed long enough ago to be taken over."""
    changed = system.sql(
        """UPDATE orders.idempotency_keys
              SET status = 'in_progress', response_status = NULL, response_body = NULL, content_type = NULL,
                  claimed_at = now() - interval '5 minutes'
            WHERE key = $1 RETURNING 1""",
        key,
    )
    assert len(changed) == 1


def test_a_create_rerun_after_its_process_died_answers_the_order_it_made(system: System) -> None:
    key, receipt = unique("died"), unique("r")
    first = system.api.post("/orders", json=order_body(receipt), headers={HEADER: key})
    assert first.status_code == 201, first.text
    _as_if_its_process_died(system, key)

    rerun = system.api.post("/orders", json=order_body(receipt), headers={HEADER: key})
    assert rerun.status_code == 201, rerun.text
    assert REPLAYED not in rerun.headers  # it ran again ...
    assert rerun.json()["orderId"] == first.json()["orderId"]  # ... and found the order it had made
    assert orders_with_receipt(system, receipt) == 1


def test_a_refund_rerun_after_its_process_died_refunds_nothing_more(system: System) -> None:
    order = system.create_order(amount=1000)
    assert system.initiate(order["orderId"]).status_code == 201
    payment = system.wait_order(order["orderId"], {"PAID"})["payment"]
    key = unique("refund-died")
    first = system.api.post(f"/payments/{payment['id']}/refunds", json={"amount": 400}, headers={HEADER: key})
    assert first.status_code == 201, first.text
    _as_if_its_process_died(system, key)

    rerun = system.api.post(f"/payments/{payment['id']}/refunds", json={"amount": 400}, headers={HEADER: key})
    assert rerun.status_code == 201, rerun.text
    assert rerun.json()["refundId"] == first.json()["refundId"]
    refunded = system.sql("SELECT amount_refunded FROM payments.payments WHERE id = $1", payment["id"])
    assert refunded[0]["amount_refunded"] == 400
