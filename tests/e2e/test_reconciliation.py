"""Reconciliation in the running system: expiry of what the gateway never settles, the order
service's confirmation of paid orders, and a SUCCESS published again when that confirmation is missing.

Thresholds are minutes by default, so these tests age the rows they look at instead of waiting.
"""

from __future__ import annotations

import time

from conftest import System


def _wait(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_an_attempt_the_gateway_never_settles_expires_on_reconciliation(system: System) -> None:
    order, payment = system.pending_payment()
    pid = payment["paymentId"]
    # younger than the expiry: the reconciler looks at it and leaves it open
    report = system.reconcile(older_than=0)
    assert pid not in [item["paymentId"] for item in report["settled"]]
    assert system.get_order(order["orderId"])["payment"]["status"] == "INITIATED"

    system.sql("UPDATE payments.payments SET created_at = now() - interval '1 hour' WHERE id = $1", pid)
    report = system.reconcile()
    settled = [item for item in report["settled"] if item["paymentId"] == pid]
    assert settled == [
        {"paymentId": pid, "orderId": order["orderId"], "status": "FAILED", "errorCode": "EXPIRED", "source": "expiry"}
    ]
    final = system.wait_order(order["orderId"], {"FAILED"})
    assert final["payment"]["status"] == "FAILED"
    assert final["payment"]["errorCode"] == "EXPIRED"
    [row] = system.sql("SELECT status, settled_by FROM payments.payments WHERE id = $1", pid)
    assert row == {"status": "FAILED", "settled_by": "expiry"}

    # a second pass finds nothing more to do for it
    again = system.reconcile()
    assert pid not in [item["paymentId"] for item in again["settled"]]


def test_the_order_service_confirms_each_paid_order_back(system: System) -> None:
    order = system.create_order()
    r = system.initiate(order["orderId"])
    assert r.status_code == 201, r.text
    pid = r.json()["paymentId"]
    system.wait_order(order["orderId"], {"PAID"})

    def confirmed() -> bool:
        rows = system.sql("SELECT order_confirmed_at FROM payments.payments WHERE id = $1", pid)
        return rows[0]["order_confirmed_at"] is not None

    _wait(confirmed)


def test_a_success_the_order_service_never_heard_of_is_published_again(system: System) -> None:
    order = system.create_order()
    r = system.initiate(order["orderId"])
    assert r.status_code == 201, r.text
    pid = r.json()["paymentId"]
    system.wait_order(order["orderId"], {"PAID"})
    _wait(
        lambda: system.sql("SELECT order_confirmed_at FROM payments.payments WHERE id = $1", pid)[0][
            "order_confirmed_at"
        ]
    )

    # as if the SUCCESS event had been lost on its way to the order service (purged from a queue)
    system.sql("UPDATE orders.orders SET status = 'CREATED' WHERE id = $1", order["orderId"])
    system.sql("DELETE FROM orders.payment_views WHERE id = $1", pid)
    system.sql(
        """UPDATE payments.payments SET order_confirmed_at = NULL, updated_at = now() - interval '1 hour'
            WHERE id = $1""",
        pid,
    )
    assert system.get_order(order["orderId"])["status"] == "CREATED"

    report = system.reconcile()
    assert pid in report["republished"]
    healed = system.wait_order(order["orderId"], {"PAID"})
    assert [p["status"] for p in healed["payments"]] == ["SUCCESS"]
    _wait(
        lambda: system.sql("SELECT order_confirmed_at FROM payments.payments WHERE id = $1", pid)[0][
            "order_confirmed_at"
        ]
    )
    kinds = [row["kind"] for row in system.sql("SELECT kind FROM payments.payment_events WHERE payment_id = $1", pid)]
    assert kinds.count("republished") == 1
    assert kinds.count("settled") == 1


def test_the_admin_api_refuses_a_wrong_token(system: System) -> None:
    r = system.raw.post(
        f"{system.payment_svc_url}/admin/reconcile", json={}, headers={"Authorization": "Bearer not-the-token"}
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "UNAUTHORIZED"


def test_the_admin_api_answers_what_the_console_shows(system: System) -> None:
    outbox = system.admin.get("/admin/outbox")
    assert outbox.status_code == 200, outbox.text
    assert [s["schema"] for s in outbox.json()["schemas"]] == ["orders", "payments"]
    assert all(s["exists"] and s["unpublished"] >= 0 for s in outbox.json()["schemas"])

    listing = system.admin.get("/admin/dlq", params={"messages": "true"})
    assert listing.status_code == 200, listing.text
    queues = {q["queue"] for q in listing.json()["queues"]}
    assert queues == {
        "payment-svc.webhooks.dlq",
        "order-svc.payment-events.dlq",
        "payment-svc.order-events.dlq",
        "order-svc.emails.dlq",
        "payment-svc.refund-requests.dlq",
        "order-svc.refund-events.dlq",
        "merchant-webhooks.events.dlq",
    }

    unknown = system.admin.get("/admin/dlq", params={"queue": "no-such-queue"})
    assert unknown.status_code == 400
    refused = system.admin.post("/admin/dlq/requeue", json={})
    assert refused.status_code == 400  # an empty selection is not "everything"
    dry = system.admin.post("/admin/dlq/purge", json={"all": True, "dryRun": True})
    assert dry.status_code == 200 and dry.json()["dry_run"] is True

    anomalies = system.admin.get("/admin/anomalies", params={"limit": "5"})
    assert anomalies.status_code == 200 and isinstance(anomalies.json()["anomalies"], list)
    assert system.admin.get("/admin/anomalies", params={"limit": "zero"}).status_code == 400
