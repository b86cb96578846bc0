"""Dead letters in the running system, handled with the operator's tools: an event that can never
apply changes nothing and waits in the dead-letter queue with its reason; once what it needs exists,
requeueing it applies it once."""

from __future__ import annotations

import time
import uuid
from typing import Any

from conftest import System, payments_admin

from payments_common import ids
from payments_common.signatures import payment_signature

WEBHOOKS = "payment-svc.webhooks"


def _dead_letter(event_id: str, wait_seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + wait_seconds
    while True:
        code, listing, err = payments_admin("dlq", "list", "--queue", WEBHOOKS, "--messages", "--json")
        assert code == 0, err
        found = [m for m in listing["messages"] if m["id"] == event_id]
        if found:
            assert any(g["origin_queue"] == WEBHOOKS and g["count"] >= 1 for g in listing["groups"])
            return dict(found[0])
        if time.monotonic() > deadline:
            raise AssertionError(f"{event_id} did not reach the dead-letter queue")
        time.sleep(0.3)


def test_payment_of_another_order_is_dead_lettered_with_its_reason(system: System) -> None:
    order_a, payment_a = system.pending_payment()
    order_b, _ = system.pending_payment()
    event_id = f"evt_mismatch_{uuid.uuid4().hex}"
    r = system.webhook({"orderId": order_b["orderId"]}, payment_a, "SUCCESS", event_id=event_id)
    assert r.status_code == 200  # signed correctly for order B, so accepted; the consumer refuses it

    letter = _dead_letter(event_id)
    assert letter["reason"] == "ORDER_MISMATCH"
    assert letter["origin_queue"] == WEBHOOKS
    assert letter["error_type"] == "PermanentError"
    assert letter["attempts"] == 1  # a permanent error is not retried
    assert system.get_order(order_a["orderId"])["status"] == "CREATED"
    assert system.get_order(order_b["orderId"])["status"] == "CREATED"

    code, result, err = payments_admin("dlq", "purge", event_id, "--yes", "--json")
    assert code == 0, err
    assert [m["status"] for m in result["messages"]] == ["purged"]


def test_an_event_for_an_unknown_payment_is_listed_then_requeued_and_applied_once(system: System) -> None:
    order = system.create_order(amount=2500)
    payment_id = ids.new_id(ids.PAYMENT)
    gateway_payment_id = ids.new_id(ids.GATEWAY_PAYMENT)
    event_id = f"evt_unknown_{uuid.uuid4().hex}"
    stranger = {"paymentId": payment_id, "gatewayPaymentId": gateway_payment_id}
    r = system.webhook(order, stranger, "SUCCESS", event_id=event_id, amount=2500, currency="INR")
    assert r.status_code == 200

    letter = _dead_letter(event_id)
    assert letter["reason"] == "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT"
    assert letter["origin_queue"] == WEBHOOKS
    assert letter["attempts"] >= 2  # retried through the delay tiers first
    assert letter["first_failure_at"] and letter["last_failure_at"]
    # the admin API shows the same dead letter
    shown = system.admin.get(f"/admin/dlq/{event_id}")
    assert shown.status_code == 200, shown.text
    assert [m["reason"] for m in shown.json()["messages"]] == ["RETRIES_EXHAUSTED:UNKNOWN_PAYMENT"]
    assert system.get_order(order["orderId"])["status"] == "CREATED"

    # a dry run changes nothing
    code, dry, err = payments_admin("dlq", "requeue", event_id, "--dry-run", "--json")
    assert code == 0, err
    assert [m["status"] for m in dry["messages"]] == ["would_requeue"]
    assert _dead_letter(event_id, wait_seconds=1)["id"] == event_id

    # the payment comes to exist, as it would after a restore that brought back a lost write
    merchant = system.keys[0][0]
    signature = payment_signature(system.payment_secret, order["orderId"], gateway_payment_id)
    system.sql(
        "INSERT INTO payments.order_payments (order_id, merchant_id, amount, currency) VALUES ($1, $2, 2500, 'INR')",
        order["orderId"],
        merchant,
    )
    system.sql(
        """INSERT INTO payments.payments (id, order_id, merchant_id, amount, currency, status,
                                          gateway_payment_id, signature)
           VALUES ($1, $2, $3, 2500, 'INR', 'INITIATED', $4, $5)""",
        payment_id,
        order["orderId"],
        merchant,
        gateway_payment_id,
        signature,
    )

    code, result, err = payments_admin("dlq", "requeue", event_id, "--json")
    assert code == 0, err
    assert [(m["id"], m["status"], m["origin_queue"]) for m in result["messages"]] == [(event_id, "requeued", WEBHOOKS)]
    paid = system.wait_order(order["orderId"], {"PAID"})
    assert [p["status"] for p in paid["payments"]] == ["SUCCESS"]

    # the gateway delivering the same event again changes nothing
    assert system.webhook(order, stranger, "SUCCESS", event_id=event_id, amount=2500, currency="INR").status_code == 200
    time.sleep(1)
    settled = system.sql(
        "SELECT event_id FROM payments.payment_events WHERE payment_id = $1 AND kind = 'settled'", payment_id
    )
    assert settled == [{"event_id": event_id}]
    code, after, _ = payments_admin("dlq", "show", event_id, "--json")
    assert code == 1 and after == {"messages": []}
