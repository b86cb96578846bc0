"""The native lists through HTTP: a merchant's orders, payments and refunds a page at a time, its own only,
and one payment by id."""

from __future__ import annotations

import time

from conftest import System


def test_orders_page_by_cursor_and_stay_the_merchant_s(system: System) -> None:
    made = [system.create_order(amount=700 + n)["orderId"] for n in range(3)]
    first = system.api.get("/orders", params={"limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [o["id"] for o in page["items"]] == [made[2], made[1]]
    second = system.api.get("/orders", params={"limit": 1, "cursor": page["nextCursor"]}).json()
    assert [o["id"] for o in second["items"]] == [made[0]]
    other = system.client_for(1).get("/orders", params={"limit": 100}).json()
    assert not set(made) & {o["id"] for o in other["items"]}
    forged = system.api.get("/orders", params={"cursor": "forged"})
    assert forged.status_code == 400 and forged.json()["error"]["field"] == "cursor"


def test_a_payment_by_id_and_in_the_list(system: System) -> None:
    order = system.create_order()
    r = system.initiate(order["orderId"], vpa="success@razorpay")
    assert r.status_code == 201, r.text
    payment_id = r.json()["paymentId"]
    system.wait_order(order["orderId"], {"PAID"})
    payment = system.api.get(f"/payments/{payment_id}").json()
    assert payment["status"] == "SUCCESS" and payment["orderId"] == order["orderId"]
    listed = system.api.get("/payments", params={"status": "SUCCESS", "limit": 5}).json()
    assert payment_id in {p["id"] for p in listed["items"]}
    assert system.client_for(1).get(f"/payments/{payment_id}").status_code == 404
    assert system.api.get("/payments/initiate").status_code == 405
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    assert system.api.get("/refunds", params={"from": since}).json() == {"items": [], "nextCursor": None}
