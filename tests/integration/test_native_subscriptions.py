"""The native plans, subscriptions, invoices and payment links on order-svc's real app (its database and a
RabbitMQ vhost of its own), beside /v1: created, read, listed a page at a time, cancelled, paused and
resumed in the native API's models and errors, through the same use cases, so that what one surface makes
the other reads as the same object. A subscription is authenticated the way the system does it: a
`payment.succeeded` of its first order, published to the broker, applied by order-svc's consumer, and acted
on by its scheduler."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from order_svc.deps import DEPS
from order_svc.subscriptions.repository import SubscriptionRepository
from order_svc.subscriptions.service import issue_cycle
from payments_common import broker, events, ids
from payments_common.events import PaymentSnapshot
from payments_common.topology import EVENTS_EXCHANGE
from payments_common.uow import UnitOfWork

from .helpers import eventually
from .order_app import order_svc_client

pytestmark = pytest.mark.integration

MERCHANT_A = ("rzp_test_native_a", "secret-of-native-merchant-a")
MERCHANT_B = ("rzp_test_native_b", "secret-of-native-merchant-b")
ITEM = {"name": "Gold", "amount": 49900, "currency": "INR"}


def auth(merchant: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(":".join(merchant).encode()).decode()}


class Api:
    """One merchant's calls to the app: each answers (status, JSON body)."""

    def __init__(self, client: TestClient[Any, Any], merchant: tuple[str, str]) -> None:
        self.client, self.headers = client, auth(merchant)

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        response = await self.client.request(method, path, json=body, headers={**self.headers, **(headers or {})})
        return response.status, await response.json()

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        answer_status, answer = await self.call(method, path, body)
        assert answer_status == status, (method, path, answer)
        return answer

    async def refused(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        """The status and the error object of a refused call."""
        status, answer = await self.call(method, path, body)
        assert status >= 400, (method, path, answer)
        return status, answer["error"]


@pytest.fixture
async def client(migrated_dsn: str, vhost_amqp_url: str) -> AsyncIterator[TestClient[Any, Any]]:
    # nothing here calls payment-svc: a subscription's first payment arrives as its event
    async with order_svc_client(
        migrated_dsn,
        vhost_amqp_url,
        (MERCHANT_A, MERCHANT_B),
        SUBSCRIPTION_SCHEDULER_INTERVAL_SECONDS=0.1,
        CHECKOUT_URL="https://pay.example.com",
        DB_POOL_SIZE=4,
    ) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient[Any, Any]) -> Api:
    return Api(client, MERCHANT_A)


@pytest.fixture
def other(client: TestClient[Any, Any]) -> Api:
    return Api(client, MERCHANT_B)


async def new_plan(api: Api, **fields: Any) -> dict[str, Any]:
    plan: dict[str, Any] = await api.ok(
        "POST", "/plans", {"period": "monthly", "interval": 1, "item": ITEM, **fields}, status=201
    )
    return plan


async def pay_first_cycle(vhost_amqp_url: str, sub: dict[str, Any]) -> None:
    """payment-svc's `payment.succeeded` of the subscription's first order, as it publishes one."""
    now = datetime.now(UTC)
    snapshot = PaymentSnapshot(
        id=ids.new_id(ids.PAYMENT),
        orderId=sub["authOrderId"],
        merchantId=MERCHANT_A[0],
        amount=ITEM["amount"],
        currency="INR",
        status="SUCCESS",
        version=2,
        createdAt=now,
        updatedAt=now,
        gatewayPaymentId=ids.new_id(ids.GATEWAY_PAYMENT),
        signature="ab" * 32,
        method={"type": "upi", "vpa": "success@razorpay"},
    )
    event = events.PaymentEvent(type="payment.succeeded", payment=snapshot)
    async with broker.messaging(vhost_amqp_url) as (_, publisher):
        await publisher.publish(
            EVENTS_EXCHANGE, "payment.succeeded", event.model_dump_json().encode(), message_id=str(uuid.uuid4())
        )


async def test_plans_are_created_read_and_listed_a_page_at_a_time(api: Api, other: Api) -> None:
    created = [await new_plan(api, notes={"tier": str(n)}) for n in range(3)]
    first = created[0]
    assert first["id"].startswith("plan_") and first["period"] == "monthly" and first["interval"] == 1
    assert first["item"] == {**ITEM, "description": None}
    assert first["notes"] == {"tier": "0"} and first["createdAt"].endswith(".000Z")
    assert await api.ok("GET", f"/plans/{first['id']}") == first

    # newest first, two pages of two: each plan once, the last page without a cursor
    page = await api.ok("GET", "/plans?limit=2")
    assert [plan["id"] for plan in page["items"]] == [created[2]["id"], created[1]["id"]]
    assert page["nextCursor"] is not None
    last = await api.ok("GET", f"/plans?limit=2&cursor={page['nextCursor']}")
    assert [plan["id"] for plan in last["items"]] == [first["id"]] and last["nextCursor"] is None

    # the same plan on /v1, in Razorpay's shape
    v1 = await api.ok("GET", f"/v1/plans/{first['id']}")
    assert (v1["entity"], v1["period"], v1["item"]["amount"], v1["notes"]) == ("plan", "monthly", 49900, {"tier": "0"})

    # another merchant's plan is not found, nor listed
    assert await other.refused("GET", f"/plans/{first['id']}") == (
        404,
        {"code": "NOT_FOUND", "description": "plan not found"},
    )
    assert (await other.ok("GET", "/plans"))["items"] == []


async def test_bad_input_is_a_400_naming_the_native_field(api: Api) -> None:
    plan = await new_plan(api)
    # one cycle of two is over the limit of an amount
    big = await new_plan(api, item={**ITEM, "amount": 10_000_000_000})
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    cases: list[tuple[str, str, Any, str]] = [
        ("POST", "/plans", {"period": "hourly", "interval": 1, "item": ITEM}, "period"),
        ("POST", "/plans", {"period": "monthly", "interval": 1, "item": {**ITEM, "amount": "1"}}, "item.amount"),
        ("POST", "/subscriptions", {"planId": plan["id"], "totalCount": "12"}, "totalCount"),
        ("POST", "/subscriptions", {"planId": plan["id"], "totalCount": 12, "plan_id": plan["id"]}, "plan_id"),
        # refused by the use case, which names /v1's field: restated as the native request names it
        ("POST", "/subscriptions", {"planId": ids.new_id("plan"), "totalCount": 12}, "planId"),
        (
            "POST",
            "/subscriptions",
            {"planId": plan["id"], "totalCount": 12, "startAt": "2020-01-01T00:00:00Z"},
            "startAt",
        ),
        ("POST", "/subscriptions", {"planId": plan["id"], "totalCount": 1, "startAt": start[:19]}, "startAt"),
        ("POST", "/subscriptions", {"planId": plan["id"], "totalCount": 1, "testClock": "clock_x"}, "testClock"),
        ("POST", "/subscriptions", {"planId": big["id"], "totalCount": 1, "quantity": 2}, "quantity"),
        ("GET", "/plans?limit=0", None, "limit"),
        ("GET", "/plans?cursor=not-a-cursor", None, "cursor"),
        ("GET", "/subscriptions?planId=" + "p" * 65, None, "planId"),
        ("POST", "/payment-links", {"amount": 0, "currency": "INR"}, "amount"),
        ("POST", "/payment-links", {"amount": 100, "currency": "INR", "expireBy": "2020-01-01T00:00:00Z"}, "expireBy"),
        ("POST", "/payment-links", {"amount": 100, "currency": "INR", "callbackUrl": "javascript:x"}, "callbackUrl"),
    ]
    for method, path, body, field in cases:
        status, error = await api.refused(method, path, body)
        assert (status, error["code"], error["field"]) == (400, "BAD_REQUEST_ERROR", field), (path, body, error)
        assert error["description"].startswith(field), error
    assert (await api.ok("GET", "/subscriptions"))["items"] == []


async def test_a_subscription_through_its_life_on_the_native_routes(
    api: Api, other: Api, client: TestClient[Any, Any], vhost_amqp_url: str
) -> None:
    plan = await new_plan(api)
    sub = await api.ok(
        "POST", "/subscriptions", {"planId": plan["id"], "totalCount": 6, "notes": {"customer": "42"}}, status=201
    )
    assert sub["id"].startswith("sub_") and sub["planId"] == plan["id"]
    assert (sub["status"], sub["totalCount"], sub["paidCount"], sub["remainingCount"]) == ("CREATED", 6, 0, 6)
    assert sub["authOrderId"].startswith("order_") and sub["cancelAtCycleEnd"] is False
    assert sub["notes"] == {"customer": "42"} and sub["endedAt"] is None
    path = f"/subscriptions/{sub['id']}"
    assert await api.ok("GET", path) == sub

    # the same object /v1 shows, in Razorpay's shape
    v1 = await api.ok("GET", f"/v1/subscriptions/{sub['id']}")
    assert (v1["id"], v1["plan_id"], v1["status"], v1["auth_order_id"]) == (
        sub["id"],
        plan["id"],
        "created",
        sub["authOrderId"],
    )
    assert v1["start_at"] == int(datetime.fromisoformat(sub["startAt"]).timestamp())
    assert v1["end_at"] == int(datetime.fromisoformat(sub["endAt"]).timestamp())

    # a created subscription is not active yet: it cannot be paused, on either surface
    status, error = await api.refused("POST", f"{path}/pause")
    assert (status, error["code"]) == (409, "SUBSCRIPTION_NOT_CHANGEABLE")
    status, v1_error = await api.refused("POST", f"/v1/subscriptions/{sub['id']}/pause")
    assert (status, v1_error["code"]) == (400, "BAD_REQUEST_ERROR")

    # its first order paid: the consumer applies the payment, the scheduler activates the subscription
    await pay_first_cycle(vhost_amqp_url, sub)

    async def active() -> bool:
        return bool((await api.ok("GET", path))["status"] == "ACTIVE")

    await eventually(active, 30.0, "the subscription ACTIVE once its first order is paid")
    sub = await api.ok("GET", path)
    assert (sub["paidCount"], sub["remainingCount"]) == (1, 5)
    assert sub["currentStart"] == sub["startAt"] and sub["chargeAt"] == sub["currentEnd"]

    invoices = await api.ok("GET", f"{path}/invoices")
    [first] = invoices["items"]
    assert invoices["nextCursor"] is None
    assert (first["cycle"], first["status"], first["orderId"], first["amountPaid"], first["amountDue"]) == (
        1,
        "PAID",
        sub["authOrderId"],
        49900,
        0,
    )
    assert first["subscriptionId"] == sub["id"] and first["billingStart"] == sub["startAt"]

    paused = await api.ok("POST", f"{path}/pause")
    assert paused["status"] == "PAUSED" and paused["chargeAt"] is None
    assert (await api.refused("POST", f"{path}/pause"))[0] == 409
    refused = await api.refused("POST", f"{path}/pause", {"pauseAt": "now"})
    assert refused[1].get("field") == "pauseAt", refused
    resumed = await api.ok("POST", f"{path}/resume", {})
    assert resumed["status"] == "ACTIVE" and resumed["chargeAt"] == sub["chargeAt"]
    assert (await api.refused("POST", f"{path}/resume"))[0] == 409

    # cancelled at the cycle's end: still active until then, and /v1 says it has a change scheduled
    later = await api.ok("POST", f"{path}/cancel", {"cancelAtCycleEnd": True})
    assert (later["status"], later["cancelAtCycleEnd"], later["chargeAt"]) == ("ACTIVE", True, None)
    assert (await api.ok("GET", f"/v1/subscriptions/{sub['id']}"))["has_scheduled_changes"] is True
    # /v1's cancel reads its body too (the SDK's `cancel_at_cycle_end`): still active, still scheduled
    v1_later = await api.ok("POST", f"/v1/subscriptions/{sub['id']}/cancel", {"cancel_at_cycle_end": 1})
    assert (v1_later["status"], v1_later["has_scheduled_changes"]) == ("active", True)
    assert (await api.refused("POST", f"{path}/cancel", {"cancelAtCycleEnd": 1}))[1]["field"] == "cancelAtCycleEnd"
    # then now
    cancelled = await api.ok("POST", f"{path}/cancel")
    assert cancelled["status"] == "CANCELLED" and cancelled["endedAt"] is not None
    status, error = await api.refused("POST", f"{path}/cancel", {})
    assert (status, error["code"]) == (409, "SUBSCRIPTION_NOT_CHANGEABLE")
    assert error["description"] == "a cancelled subscription cannot be cancelled"
    assert (await api.ok("GET", f"/v1/subscriptions/{sub['id']}"))["status"] == "cancelled"

    # another merchant's subscription: not found, whatever is asked of it
    for method, suffix in (
        ("GET", ""),
        ("GET", "/invoices"),
        ("POST", "/cancel"),
        ("POST", "/pause"),
        ("POST", "/resume"),
    ):
        status, error = await other.refused(method, path + suffix)
        assert (status, error["code"]) == (404, "NOT_FOUND"), (method, suffix)
    assert (await other.ok("GET", "/subscriptions"))["items"] == []
    assert (await api.refused("GET", "/subscriptions/sub_unknown"))[0] == 404


async def test_a_subscriptions_invoices_and_the_list_of_subscriptions_page_by_page(
    api: Api, client: TestClient[Any, Any]
) -> None:
    gold, silver = await new_plan(api), await new_plan(api, item={**ITEM, "name": "Silver", "amount": 19900})
    subs = [
        await api.ok("POST", "/subscriptions", {"planId": plan["id"], "totalCount": 12}, status=201)
        for plan in (gold, silver, gold)
    ]
    # a v1 subscription is one of the native list's too
    v1_sub = await api.ok("POST", "/v1/subscriptions", {"plan_id": gold["id"], "total_count": 3})
    newest_first = [v1_sub["id"], *(sub["id"] for sub in reversed(subs))]

    seen: list[str] = []
    cursor = ""
    while True:
        page = await api.ok("GET", f"/subscriptions?limit=3{cursor}")
        seen += [sub["id"] for sub in page["items"]]
        if page["nextCursor"] is None:
            break
        cursor = f"&cursor={page['nextCursor']}"
    assert seen == newest_first
    native_v1 = await api.ok("GET", f"/subscriptions/{v1_sub['id']}")
    assert (native_v1["planId"], native_v1["totalCount"], native_v1["status"]) == (gold["id"], 3, "CREATED")
    of_silver = await api.ok("GET", f"/subscriptions?planId={silver['id']}")
    assert [sub["id"] for sub in of_silver["items"]] == [subs[1]["id"]]

    # cycles 2 and 3 invoiced as the scheduler invoices them; the invoices read latest cycle first
    sub_id = subs[0]["id"]
    pool = client.app[DEPS].pool  # type: ignore[index]
    async with UnitOfWork(pool) as uow:
        repo = uow.repo(SubscriptionRepository)
        row = await repo.subscription_by_id(sub_id)
        assert row is not None
        plan_row = await repo.plan(row.plan_id, row.merchant_id)
        assert plan_row is not None
        for cycle in (2, 3):
            await issue_cycle(uow, row, plan_row, cycle)
    page = await api.ok("GET", f"/subscriptions/{sub_id}/invoices?limit=2")
    assert [invoice["cycle"] for invoice in page["items"]] == [3, 2]
    assert [invoice["status"] for invoice in page["items"]] == ["ISSUED", "ISSUED"]
    assert page["items"][0]["nextChargeAt"] == page["items"][0]["billingStart"]
    rest = await api.ok("GET", f"/subscriptions/{sub_id}/invoices?limit=2&cursor={page['nextCursor']}")
    assert [invoice["cycle"] for invoice in rest["items"]] == [1] and rest["nextCursor"] is None
    v1_invoices = await api.ok("GET", f"/v1/invoices?subscription_id={sub_id}")
    assert sorted(invoice["id"] for invoice in v1_invoices["items"]) == sorted(
        invoice["id"] for invoice in page["items"] + rest["items"]
    )
    # a cursor of another list is refused, not misread
    plans_page = await api.ok("GET", "/plans?limit=1")
    status, error = await api.refused("GET", f"/subscriptions/{sub_id}/invoices?cursor={plans_page['nextCursor']}")
    assert (status, error["field"]) == (400, "cursor")


async def test_a_repeated_idempotency_key_replays_the_native_answer(api: Api) -> None:
    body = {"period": "weekly", "interval": 2, "item": ITEM}
    key = {"Idempotency-Key": f"plan-{uuid.uuid4()}"}
    first = await api.client.post("/plans", json=body, headers={**api.headers, **key})
    again = await api.client.post("/plans", json=body, headers={**api.headers, **key})
    assert (first.status, again.status) == (201, 201)
    assert await again.json() == await first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len((await api.ok("GET", "/plans"))["items"]) == 1
    reused = await api.client.post("/plans", json={**body, "interval": 3}, headers={**api.headers, **key})
    assert reused.status == 422 and (await reused.json())["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_the_native_routes_need_credentials(client: TestClient[Any, Any]) -> None:
    for method, path in (("GET", "/plans"), ("POST", "/subscriptions"), ("GET", "/payment-links/plink_x")):
        response = await client.request(method, path, json={})
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "UNAUTHORIZED"


async def test_payment_links_on_the_native_routes(api: Api, other: Api) -> None:
    expire = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    link = await api.ok(
        "POST",
        "/payment-links",
        {
            "amount": 2500,
            "currency": "INR",
            "description": "Invoice 7",
            "customer": {"name": "Asha", "email": "asha@example.com"},
            "expireBy": expire.isoformat(),
            "referenceId": "INV-7",
            "callbackUrl": "https://shop.example.com/paid",
            "notes": {"order": "7"},
        },
        status=201,
    )
    assert link["id"].startswith("plink_") and link["shortUrl"].startswith("https://pay.example.com/l/")
    assert (link["status"], link["amount"], link["amountPaid"], link["currency"]) == ("CREATED", 2500, 0, "INR")
    assert link["expireBy"] == expire.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert (link["referenceId"], link["callbackUrl"], link["payments"]) == (
        "INV-7",
        "https://shop.example.com/paid",
        [],
    )
    assert link["customer"] == {"name": "Asha", "email": "asha@example.com"} and link["cancelledAt"] is None
    path = f"/payment-links/{link['id']}"
    assert await api.ok("GET", path) == link
    v1 = await api.ok("GET", f"/v1/payment_links/{link['id']}")
    assert (v1["id"], v1["reference_id"], v1["short_url"], v1["status"]) == (
        link["id"],
        "INV-7",
        link["shortUrl"],
        "created",
    )

    status, error = await api.refused(
        "POST", "/payment-links", {"amount": 100, "currency": "INR", "referenceId": "INV-7"}
    )
    assert (status, error["field"]) == (400, "referenceId")
    assert error["description"] == "referenceId: a payment link with this referenceId already exists"

    for method, suffix in (("GET", ""), ("POST", "/cancel")):
        assert (await other.refused(method, path + suffix))[0] == 404

    cancelled = await api.ok("POST", f"{path}/cancel")
    assert cancelled["status"] == "CANCELLED" and cancelled["cancelledAt"] is not None
    status, error = await api.refused("POST", f"{path}/cancel")
    assert (status, error["code"]) == (409, "PAYMENT_LINK_NOT_EDITABLE")
    # /v1 refuses it as Razorpay does
    assert (await api.refused("POST", f"/v1/payment_links/{link['id']}/cancel"))[0] == 400
