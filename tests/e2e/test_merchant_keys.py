"""Merchants and keys as data, against the running system: a merchant and its keys made through the admin
API and `payments-admin`, orders made under one key read under another, an Idempotency-Key replayed
across the merchant's keys, and a revoked key refused within 5 seconds (the time it took printed)."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import httpx
from conftest import System, payments_admin

# the bound the feature promises: a revoked key refused everywhere within it
REVOKED_WITHIN_SECONDS = 5.0


def order_admin(system: System) -> httpx.Client:
    return httpx.Client(
        base_url=system.api_url,
        headers={"Authorization": f"Bearer {os.environ['ADMIN_TOKEN']}"},
        timeout=15,
    )


def keyed(system: System, key: dict[str, Any]) -> httpx.Client:
    return httpx.Client(base_url=system.api_url, auth=(key["keyId"], key["keySecret"]), timeout=15)


def test_a_rotated_key_sees_everything_the_old_one_made_and_the_old_one_is_refused_within_5s(
    system: System,
) -> None:
    admin = order_admin(system)
    made = admin.post("/admin/merchants", json={"name": f"Rotation {uuid.uuid4().hex[:6]}"})
    assert made.status_code == 201, made.text
    merchant_id = made.json()["id"]
    first = admin.post(f"/admin/merchants/{merchant_id}/keys")
    assert first.status_code == 201, first.text
    key1 = keyed(system, first.json())

    orders = []
    for amount in (1100, 1200, 1300):
        r = key1.post("/orders", json={"amount": amount, "currency": "INR"})
        assert r.status_code == 201, r.text
        orders.append(r.json()["orderId"])
    v1 = key1.post("/v1/orders", json={"amount": 1400, "currency": "INR", "receipt": "rotation"})
    assert v1.status_code == 200, v1.text
    orders.append(v1.json()["id"])
    paid = key1.post(
        "/payments/initiate", json={"orderId": orders[0], "method": {"type": "upi", "vpa": "success@razorpay"}}
    )
    assert paid.status_code == 201, paid.text
    idempotent_body = {"amount": 1500, "currency": "INR", "receipt": f"idem-{uuid.uuid4().hex[:8]}"}
    idem_key = {"Idempotency-Key": f"rotation-{uuid.uuid4().hex}"}
    original = key1.post("/orders", json=idempotent_body, headers=idem_key)
    assert original.status_code == 201, original.text
    orders.append(original.json()["orderId"])

    second = admin.post(f"/admin/merchants/{merchant_id}/keys")
    assert second.status_code == 201, second.text
    key2 = keyed(system, second.json())

    # the same Idempotency-Key under the merchant's other key: the stored answer, or the mismatch error
    replay = key2.post("/orders", json=idempotent_body, headers=idem_key)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.content == original.content
    mismatch = key2.post("/orders", json={**idempotent_body, "amount": 1501}, headers=idem_key)
    assert mismatch.status_code == 422 and mismatch.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"

    revoked = admin.post(f"/admin/keys/{first.json()['keyId']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revokedAt"] is not None
    started = time.monotonic()
    while (status := key1.get(f"/orders/{orders[0]}").status_code) != 401:
        assert status == 200
        assert time.monotonic() - started < REVOKED_WITHIN_SECONDS, "the revoked key was still accepted after 5 s"
        time.sleep(0.05)
    print(f"\nrevoked key refused {time.monotonic() - started:.2f} s after the revocation answered")
    assert key1.post("/orders", json={"amount": 100, "currency": "INR"}).status_code == 401

    listed = key2.get("/orders", params={"limit": 100})
    assert listed.status_code == 200 and {o["id"] for o in listed.json()["items"]} == set(orders)
    for order_id in orders:
        assert key2.get(f"/orders/{order_id}").json()["id"] == order_id
    v1_listed = key2.get("/v1/orders", params={"count": 100})
    assert v1_listed.status_code == 200 and {o["id"] for o in v1_listed.json()["items"]} == set(orders)
    payments = key2.get("/payments", params={"limit": 100}).json()
    assert paid.json()["paymentId"] in {p["id"] for p in payments["items"]}
    # and none of it is another merchant's to see
    assert system.api.get(f"/orders/{orders[0]}").status_code == 404


def test_payments_admin_creates_a_merchant_and_rotates_its_key(system: System) -> None:
    os.environ.setdefault("ORDER_SVC_URL", system.api_url)
    code, merchant, err = payments_admin(
        "merchant", "create", "--name", "CLI Ltd", "--alert-email", "ops@cli.example", "--json"
    )
    assert code == 0, err
    code, key, err = payments_admin("key", "create", merchant["id"], "--json")
    assert code == 0 and key["keySecret"], err
    assert httpx.get(f"{system.api_url}/orders", auth=(key["keyId"], key["keySecret"])).status_code == 200
    code, shown, err = payments_admin("merchant", "show", merchant["id"], "--json")
    assert code == 0 and [k["keyId"] for k in shown["keys"]] == [key["keyId"]], err
    assert key["keySecret"] not in str(shown)
    code, listed, err = payments_admin("merchant", "list", "--limit", "1000", "--json")
    assert code == 0 and merchant["id"] in {m["id"] for m in listed["items"]}, err
    code, revoked, err = payments_admin("key", "revoke", key["keyId"], "--json")
    assert code == 0 and revoked["revokedAt"] is not None, err
    code, _, err = payments_admin("key", "revoke", key["keyId"], "--json")
    assert code == 1 and "already revoked" in err
    code, _, err = payments_admin("merchant", "show", "merch_00000000000000")
    assert code == 1 and "not found" in err
    code, _, err = payments_admin("merchant", "create", "--name", "X", "--alert-email", "nope")
    assert code == 2 and "alertEmail" in err
