"""Refunds through HTTP against the running system: the client API, the mock gateway processing each refund
and reporting it by a signed webhook, the webhook gateway, and both services' consumers.

Among them the number that matters: 20 concurrent refunds of a tenth each on one payment, of which exactly
10 are accepted, and the refunded total is the payment's amount, not a unit more.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from conftest import System
from openapi_schema_validator import OAS31Validator

from order_svc.openapi import document
from payments_common.signatures import sign_webhook

REFUND_FAILS_VPA = "success.refund-fails@razorpay"


def assert_documented(path: str, method: str, status: int, body: Any) -> None:
    doc = document()
    schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": doc["components"]}).validate(body)


def paid_payment(system: System, amount: int = 1000, vpa: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    order = system.create_order(amount)
    r = system.initiate(order["orderId"], vpa=vpa)
    assert r.status_code == 201, r.text
    system.wait_order(order["orderId"], {"PAID"})
    return order, dict(r.json())


def refund(system: System, payment_id: str, client: httpx.Client | None = None, **body: Any) -> httpx.Response:
    return (client or system.api).post(f"/payments/{payment_id}/refunds", json=body)


def created(system: System, payment_id: str, **body: Any) -> dict[str, Any]:
    r = refund(system, payment_id, **body)
    assert r.status_code == 201, r.text
    assert_documented("/payments/{payment_id}/refunds", "post", 201, r.json())
    return dict(r.json())


def get_refund(system: System, refund_id: str) -> dict[str, Any]:
    r = system.api.get(f"/refunds/{refund_id}")
    assert r.status_code == 200, r.text
    assert_documented("/refunds/{refund_id}", "get", 200, r.json())
    return dict(r.json())


def wait_refund(system: System, refund_id: str, status: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = get_refund(system, refund_id)
        if found["status"] == status:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"refund {refund_id} stayed {found['status']}, wanted {status}")
        time.sleep(0.1)


def payment_in_order(system: System, order_id: str, payment_id: str) -> dict[str, Any]:
    order = system.get_order(order_id)
    assert_documented("/orders/{order_id}", "get", 200, order)
    assert order["status"] == "PAID"
    return next(p for p in order["payments"] if p["id"] == payment_id)


def trail(system: System, payment_id: str) -> list[dict[str, Any]]:
    r = system.api.get(f"/payments/{payment_id}/events")
    assert r.status_code == 200, r.text
    assert_documented("/payments/{payment_id}/events", "get", 200, r.json())
    return list(r.json()["events"])


def of_refund(events: list[dict[str, Any]], refund_id: str) -> list[str]:
    return [e["kind"] for e in events if e["detail"].get("refundId") == refund_id]


def refused(r: httpx.Response, status: int, code: str, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert error.get("field") == field


def send_refund_webhook(system: System, body: bytes, event_id: str, key: bytes | None = None) -> httpx.Response:
    headers = sign_webhook(key or system.webhook_key, event_id, body).as_dict()
    headers["content-type"] = "application/json"
    return system.raw.post(f"{system.webhook_url}/webhook/refund", content=body, headers=headers)


def test_a_refund_without_an_amount_refunds_everything_and_is_processed(system: System) -> None:
    order, payment = paid_payment(system, 1000)
    answer = created(system, payment["paymentId"])
    assert answer["refundId"].startswith("rfnd_")
    assert (answer["paymentId"], answer["amount"], answer["currency"], answer["status"]) == (
        payment["paymentId"],
        1000,
        "INR",
        "PENDING",
    )
    # read-your-writes: the order shows it at once
    assert payment_in_order(system, order["orderId"], payment["paymentId"])["amountRefunded"] == 1000

    processed = wait_refund(system, answer["refundId"], "PROCESSED")
    assert (processed["orderId"], processed["errorCode"], processed["notes"]) == (order["orderId"], None, {})
    shown = payment_in_order(system, order["orderId"], payment["paymentId"])
    assert shown["amountRefunded"] == 1000
    assert [(r["refundId"], r["status"]) for r in shown["refunds"]] == [(answer["refundId"], "PROCESSED")]
    # the log records it, oldest first: asked, sent to the gateway, reported processed (the gateway's report
    # may overtake the note that its answer to the request was recorded)
    kinds = of_refund(trail(system, payment["paymentId"]), answer["refundId"])
    assert kinds[0] == "refund_requested" and sorted(kinds[1:]) == ["refund_processed", "refund_sent"]
    refused(refund(system, payment["paymentId"]), 400, "BAD_REQUEST_ERROR", "amount")


def test_partial_refunds_add_up_to_at_most_the_amount(system: System) -> None:
    order, payment = paid_payment(system, 1000)
    first = created(system, payment["paymentId"], amount=300, notes={"reason": "one item returned"})
    second = created(system, payment["paymentId"], amount=200)
    refused(refund(system, payment["paymentId"], amount=501), 400, "BAD_REQUEST_ERROR", "amount")
    rest = created(system, payment["paymentId"])
    assert rest["amount"] == 500
    for answer in (first, second, rest):
        wait_refund(system, answer["refundId"], "PROCESSED")
    shown = payment_in_order(system, order["orderId"], payment["paymentId"])
    assert shown["amountRefunded"] == 1000
    assert [r["refundId"] for r in shown["refunds"]] == [first["refundId"], second["refundId"], rest["refundId"]]
    assert shown["refunds"][0]["notes"] == {"reason": "one item returned"}
    refused(refund(system, payment["paymentId"], amount=1), 400, "BAD_REQUEST_ERROR", "amount")


def test_a_failed_or_unsettled_payment_is_not_refundable(system: System) -> None:
    failed_order = system.create_order(1000)
    failed = system.initiate(failed_order["orderId"], vpa="failure@razorpay").json()
    system.wait_order(failed_order["orderId"], {"FAILED"})
    refused(refund(system, failed["paymentId"]), 409, "PAYMENT_NOT_REFUNDABLE")
    _, pending = system.pending_payment(1000)
    refused(refund(system, pending["paymentId"], amount=100), 409, "PAYMENT_NOT_REFUNDABLE")


def test_invalid_refund_requests_are_400_naming_the_field(system: System) -> None:
    _, payment = paid_payment(system, 1000)
    for body, field in (({"amount": 0}, "amount"), ({"amount": "10"}, "amount"), ({"extra": 1}, "extra")):
        r = refund(system, payment["paymentId"], **body)
        refused(r, 400, "BAD_REQUEST_ERROR", field)
        assert_documented("/payments/{payment_id}/refunds", "post", 400, r.json())
    refused(refund(system, "pay_unknown", amount=1), 404, "NOT_FOUND")
    refused(system.api.get("/refunds/rfnd_unknown"), 404, "NOT_FOUND")


def test_a_failed_refund_gives_its_amount_back_and_the_order_stays_paid(system: System) -> None:
    order, payment = paid_payment(system, 1000, vpa=REFUND_FAILS_VPA)
    answer = created(system, payment["paymentId"])
    failed = wait_refund(system, answer["refundId"], "FAILED")
    assert failed["errorCode"] == "REFUND_FAILED" and failed["errorDescription"]
    shown = payment_in_order(system, order["orderId"], payment["paymentId"])
    assert shown["amountRefunded"] == 0
    # what the failure gave back can be refunded again
    again = created(system, payment["paymentId"], amount=400)
    assert payment_in_order(system, order["orderId"], payment["paymentId"])["amountRefunded"] == 400
    wait_refund(system, again["refundId"], "FAILED")
    assert system.get_order(order["orderId"])["status"] == "PAID"
    assert "refund_failed" in of_refund(trail(system, payment["paymentId"]), answer["refundId"])


def test_a_refund_webhook_with_a_bad_signature_is_refused_and_changes_nothing(system: System) -> None:
    order, payment = paid_payment(system, 1000)
    answer = created(system, payment["paymentId"], amount=100)
    processed = wait_refund(system, answer["refundId"], "PROCESSED")
    rows_before = len(trail(system, payment["paymentId"]))
    forged = json.dumps(
        {
            "refundId": answer["refundId"],
            "paymentId": payment["paymentId"],
            "gatewayPaymentId": payment["gatewayPaymentId"],
            "gatewayRefundId": f"gwrf_{uuid.uuid4()}",
            "amount": 100,
            "currency": "INR",
            "status": "FAILED",
        }
    ).encode()
    r = send_refund_webhook(system, forged, f"evt_forged_{uuid.uuid4().hex}", key=b"not-the-webhook-secret-32-bytes!")
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "INVALID_SIGNATURE"
    # a 400 is answered before anything is published: there is nothing on its way to wait for
    assert get_refund(system, answer["refundId"]) == processed
    assert len(trail(system, payment["paymentId"])) == rows_before
    assert payment_in_order(system, order["orderId"], payment["paymentId"])["amountRefunded"] == 100


def test_a_replayed_refund_webhook_is_applied_once(system: System) -> None:
    _, payment = paid_payment(system, 1000)
    answer = created(system, payment["paymentId"], amount=250)
    wait_refund(system, answer["refundId"], "PROCESSED")
    # the gateway's own report of this refund, exactly as it sent it
    [sent] = system.sql(
        """SELECT d.event_id, d.body FROM gateway.deliveries d JOIN gateway.refunds r ON r.id = d.refund_id
            WHERE r.refund_id = $1""",
        answer["refundId"],
    )
    version = system.sql("SELECT version FROM payments.refunds WHERE id = $1", answer["refundId"])[0]["version"]
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: send_refund_webhook(system, bytes(sent["body"]), sent["event_id"]), range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200]

    deadline = time.monotonic() + 20
    while of_refund(trail(system, payment["paymentId"]), answer["refundId"]).count("duplicate_ignored") < 3:
        assert time.monotonic() < deadline, "the replays were not all turned away"
        time.sleep(0.1)
    kinds = of_refund(trail(system, payment["paymentId"]), answer["refundId"])
    assert kinds.count("refund_processed") == 1
    after = system.sql("SELECT version, status FROM payments.refunds WHERE id = $1", answer["refundId"])[0]
    assert (after["version"], after["status"]) == (version, "PROCESSED")
    assert system.sql("SELECT amount_refunded FROM payments.payments WHERE id = $1", payment["paymentId"]) == [
        {"amount_refunded": 250}
    ]


def test_an_idempotency_key_replays_the_refund_instead_of_making_another(system: System) -> None:
    order, payment = paid_payment(system, 1000)
    key = {"Idempotency-Key": f"refund-{uuid.uuid4()}"}
    url = f"/payments/{payment['paymentId']}/refunds"
    first = system.api.post(url, json={"amount": 100}, headers=key)
    again = system.api.post(url, json={"amount": 100}, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    reused = system.api.post(url, json={"amount": 200}, headers=key)
    refused(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    shown = payment_in_order(system, order["orderId"], payment["paymentId"])
    assert (shown["amountRefunded"], len(shown["refunds"])) == (100, 1)


def test_another_merchants_payment_and_refund_are_not_found(system: System) -> None:
    _, payment = paid_payment(system, 1000)
    mine = created(system, payment["paymentId"], amount=100)
    with system.client_for(1) as other:
        refused(refund(system, payment["paymentId"], client=other, amount=100), 404, "NOT_FOUND")
        refused(other.get(f"/refunds/{mine['refundId']}"), 404, "NOT_FOUND")
    order_id = get_refund(system, mine["refundId"])["orderId"]
    assert payment_in_order(system, order_id, payment["paymentId"])["amountRefunded"] == 100


def test_twenty_concurrent_refunds_of_a_tenth_exactly_ten_are_accepted(system: System) -> None:
    order, payment = paid_payment(system, 1000)
    url = f"/payments/{payment['paymentId']}/refunds"

    def one(_: int) -> httpx.Response:
        with system.client_for(0) as client:
            return client.post(url, json={"amount": 100})

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(one, range(20)))
    accepted = [a for a in answers if a.status_code == 201]
    over = [a for a in answers if a.status_code == 400]
    print(f"\n20 concurrent refunds of 100 on a payment of 1000: {len(accepted)} x 201, {len(over)} x 400")
    assert (len(accepted), len(over)) == (10, 10), [a.status_code for a in answers]
    assert all(a.json()["error"]["field"] == "amount" for a in over)
    assert sum(a.json()["amount"] for a in accepted) == 1000
    for a in accepted:
        wait_refund(system, a.json()["refundId"], "PROCESSED")
    shown = payment_in_order(system, order["orderId"], payment["paymentId"])
    assert shown["amountRefunded"] == 1000
    assert len(shown["refunds"]) == 10
    assert system.sql("SELECT amount_refunded FROM payments.payments WHERE id = $1", payment["paymentId"]) == [
        {"amount_refunded": 1000}
    ]


def test_a_refund_whose_webhook_was_lost_is_settled_by_reconciliation(system: System) -> None:
    order, payment = paid_payment(system, 1000)
    pid = payment["paymentId"]
    # the gateway sends this payment's refund reports to a path nobody serves (404, given up at once): lost
    # on the way, while the gateway's own record of the refund says processed
    lose = f"lose_refund_webhooks_{uuid.uuid4().hex[:12]}"
    system.sql(
        f"""CREATE FUNCTION gateway.{lose}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.path := '/webhook/lost'; RETURN NEW; END $$"""
    )
    system.sql(
        f"""CREATE TRIGGER {lose} BEFORE INSERT ON gateway.deliveries FOR EACH ROW
            WHEN (NEW.purpose = 'refund' AND NEW.payment_id = '{pid}') EXECUTE FUNCTION gateway.{lose}()"""
    )
    try:
        answer = created(system, pid, amount=400)
        rid = answer["refundId"]
        lost = """SELECT 1 FROM gateway.refunds r JOIN gateway.deliveries d ON d.refund_id = r.id
                   WHERE r.refund_id = $1 AND r.status = 'processed' AND d.state = 'refused'"""
        deadline = time.monotonic() + 20
        while not system.sql(lost, rid):
            assert time.monotonic() < deadline, "the gateway did not process the refund and lose its report"
            time.sleep(0.1)
    finally:
        system.sql(f"DROP TRIGGER IF EXISTS {lose} ON gateway.deliveries")
        system.sql(f"DROP FUNCTION IF EXISTS gateway.{lose}()")
    assert get_refund(system, rid)["status"] == "PENDING"

    report = system.reconcile(older_than=0)

    assert [s for s in report["refunds"]["settled"] if s["refundId"] == rid] == [
        {"refundId": rid, "paymentId": pid, "status": "PROCESSED", "errorCode": None, "source": "reconciliation"}
    ], (report["refunds"], report["errors"])
    wait_refund(system, rid, "PROCESSED")
    assert payment_in_order(system, order["orderId"], pid)["amountRefunded"] == 400
    settled = [e for e in trail(system, pid) if e["detail"].get("refundId") == rid and e["kind"] == "refund_processed"]
    assert [e["source"] for e in settled] == ["reconciliation"]
    # a second pass finds nothing more to do for it
    assert rid not in [s["refundId"] for s in system.reconcile(older_than=0)["refunds"]["settled"]]
