"""The client API's payment log (`GET /payments/{id}/events`) and checkout callback (`POST /payments/verify`)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from conftest import System
from openapi_schema_validator import OAS31Validator

from order_svc.openapi import document
from payments_common.signatures import payment_signature


def assert_documented(path: str, method: str, status: int, body: Any) -> None:
    """The answer is what the client API's OpenAPI document says it is."""
    doc = document()
    schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": doc["components"]}).validate(body)


def log_of(system: System, payment_id: str) -> dict[str, Any]:
    r = system.api.get(f"/payments/{payment_id}/events")
    assert r.status_code == 200, r.text
    assert_documented("/payments/{payment_id}/events", "get", 200, r.json())
    return dict(r.json())


def wait_kind(system: System, payment_id: str, kind: str, event_id: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        events: list[dict[str, Any]] = log_of(system, payment_id)["events"]
        if any(e["kind"] == kind and e["eventId"] == event_id for e in events):
            return events
        if time.monotonic() > deadline:
            raise AssertionError(f"no {kind} for {event_id} in {[e['kind'] for e in events]}")
        time.sleep(0.1)


def trail_rows(system: System, payment_id: str) -> int:
    rows = system.sql("SELECT count(*) AS n FROM payments.payment_events WHERE payment_id = $1", payment_id)
    return int(rows[0]["n"])


def verify(system: System, order_id: str, gateway_payment_id: str, signature: str) -> Any:
    body = {"orderId": order_id, "gatewayPaymentId": gateway_payment_id, "signature": signature}
    return system.api.post("/payments/verify", json=body)


def test_the_log_of_a_paid_payment_is_created_sent_settled_oldest_first(system: System) -> None:
    order = system.create_order(2100)
    r = system.initiate(order["orderId"])
    assert r.status_code == 201, r.text
    payment = r.json()
    system.wait_order(order["orderId"], {"PAID"})

    log = log_of(system, payment["paymentId"])
    assert log["paymentId"] == payment["paymentId"]
    events = log["events"]
    assert [e["kind"] for e in events[:3]] == ["created", "sent_to_gateway", "settled"]
    assert set(events[0]) == {"id", "kind", "source", "eventId", "detail", "createdAt"}
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    created_at = [e["createdAt"] for e in events]
    assert created_at == sorted(created_at)
    created, sent, settled = events[:3]
    assert (created["source"], created["detail"]) == ("api", {"amount": 2100, "currency": "INR"})
    assert sent["detail"]["gatewayPaymentId"] == payment["gatewayPaymentId"]
    # the transition says where it came from and where it went
    assert settled["detail"]["current"] == "INITIATED" and settled["detail"]["to"] == "SUCCESS"
    assert settled["source"] == "webhook" and settled["eventId"]
    assert [e["kind"] for e in events].count("settled") == 1


def test_a_duplicate_webhook_shows_up_as_ignored(system: System) -> None:
    order, payment = system.pending_payment(1700)
    event_id = f"evt_{uuid.uuid4().hex}"
    assert system.webhook(order, payment, event_id=event_id).status_code == 200
    system.wait_order(order["orderId"], {"PAID"})

    # the same delivery again: the inbox turns it away, the trail keeps a note of it
    assert system.webhook(order, payment, event_id=event_id).status_code == 200
    events = wait_kind(system, payment["paymentId"], "duplicate_ignored", event_id)
    # another report of the settled outcome, under a new event id: applied as a no-op and said so
    other_id = f"evt_{uuid.uuid4().hex}"
    assert system.webhook(order, payment, event_id=other_id).status_code == 200
    events = wait_kind(system, payment["paymentId"], "ignored_already_settled", other_id)

    kinds = [e["kind"] for e in events]
    assert kinds.count("settled") == 1
    settled = next(e for e in events if e["kind"] == "settled")
    duplicate = next(e for e in events if e["kind"] == "duplicate_ignored")
    assert settled["eventId"] == event_id and duplicate["source"] == "webhook"
    assert settled["id"] < duplicate["id"]
    assert system.get_order(order["orderId"])["payment"]["status"] == "SUCCESS"


def test_another_merchants_payment_or_an_unknown_id_is_not_found(system: System) -> None:
    order, payment = system.pending_payment()
    with system.client_for(1) as other:
        r = other.get(f"/payments/{payment['paymentId']}/events")
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "NOT_FOUND"
        r = other.post(
            "/payments/verify",
            json={
                "orderId": order["orderId"],
                "gatewayPaymentId": payment["gatewayPaymentId"],
                "signature": payment["signature"],
            },
        )
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "NOT_FOUND"
    for unknown in (f"pay_{uuid.uuid4()}", "pay_not-an-id", "order_x"):
        r = system.api.get(f"/payments/{unknown}/events")
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "NOT_FOUND"
    # the owner still reads it
    assert log_of(system, payment["paymentId"])["events"][0]["kind"] == "created"
    assert system.api.get(f"/payments/{payment['paymentId']}/events", auth=None).status_code == 401


def test_verify_before_and_after_the_webhook_reads_and_changes_nothing(system: System) -> None:
    order, payment = system.pending_payment(2300)
    # what the checkout handed the client: our signature over orderId|gatewayPaymentId
    signature = payment_signature(system.payment_secret, order["orderId"], payment["gatewayPaymentId"])
    assert signature == payment["signature"]
    rows_before = trail_rows(system, payment["paymentId"])

    # the callback first: genuine, but only the webhook settles, so the attempt is still pending
    r = verify(system, order["orderId"], payment["gatewayPaymentId"], signature)
    assert r.status_code == 200, r.text
    assert_documented("/payments/verify", "post", 200, r.json())
    assert r.json() == {
        "verified": True,
        "orderId": order["orderId"],
        "paymentId": payment["paymentId"],
        "gatewayPaymentId": payment["gatewayPaymentId"],
        "status": "INITIATED",
        "orderStatus": "CREATED",
    }
    assert trail_rows(system, payment["paymentId"]) == rows_before
    assert system.get_order(order["orderId"])["status"] == "CREATED"

    assert system.webhook(order, payment).status_code == 200
    system.wait_order(order["orderId"], {"PAID"})
    rows_settled = trail_rows(system, payment["paymentId"])
    assert rows_settled == rows_before + 1

    r = verify(system, order["orderId"], payment["gatewayPaymentId"], signature)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["orderStatus"]) == ("SUCCESS", "PAID")
    assert trail_rows(system, payment["paymentId"]) == rows_settled


def test_a_wrong_signature_is_refused_without_echoing_it(system: System) -> None:
    order, payment = system.pending_payment()
    rows_before = trail_rows(system, payment["paymentId"])
    genuine = payment["signature"]
    forged = [
        ("0" * 64, payment["gatewayPaymentId"]),
        (genuine[:-1] + ("0" if genuine[-1] != "0" else "1"), payment["gatewayPaymentId"]),
        # a genuine signature names one gateway payment, not another
        (genuine, f"{payment['gatewayPaymentId']}x"),
        ("é" * 64, payment["gatewayPaymentId"]),
    ]
    for signature, gateway_payment_id in forged:
        r = verify(system, order["orderId"], gateway_payment_id, signature)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "INVALID_SIGNATURE"
        assert_documented("/payments/verify", "post", 400, r.json())
        assert signature not in r.text and genuine not in r.text
    assert trail_rows(system, payment["paymentId"]) == rows_before
    assert system.get_order(order["orderId"])["payment"]["status"] == "INITIATED"


def test_verify_refuses_a_malformed_body_naming_the_field(system: System) -> None:
    order, payment = system.pending_payment()
    good = {"orderId": order["orderId"], "gatewayPaymentId": payment["gatewayPaymentId"], "signature": "ab"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "extra": 1}, "extra"),
        ({**good, "signature": 5}, "signature"),
        ({k: v for k, v in good.items() if k != "gatewayPaymentId"}, "gatewayPaymentId"),
        ({**good, "orderId": None}, "orderId"),
    ]
    for body, field in cases:
        r = system.api.post("/payments/verify", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "BAD_REQUEST_ERROR"
        assert r.json()["error"]["field"] == field
    r = verify(system, f"order_{uuid.uuid4()}", payment["gatewayPaymentId"], payment["signature"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
