"""The plans', subscriptions', invoices' and test clocks' routes, /v1's and the native ones, as
`test_order_svc_answers` drives them: what each is asked, and the use cases stubbed to answer entities
built from sample rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from order_svc.subscriptions import service
from order_svc.subscriptions.domain import Billing, FrozenClock, Invoice, Plan, Subscription, SubscriptionStatus
from order_svc.subscriptions.service import Listing
from order_svc.v1.subscriptions.schemas import (
    ClockEntity,
    InvoiceEntity,
    PlanEntity,
    SubscriptionCheckout,
    SubscriptionEntity,
)
from payments_common import ids

AT = datetime(2027, 1, 15, 10, 0, tzinfo=UTC)
PLAN_ID = ids.new_id("plan")
SUB_ID = ids.new_id("sub")
CLOCK_ID = ids.new_id("clock")
ORDER_ID = ids.new_id(ids.ORDER)
PLAN = Plan(PLAN_ID, "rzp_a", "monthly", 1, "Gold", None, 49900, "INR", {"tier": "gold"}, AT)
SUB = Subscription(
    id=SUB_ID,
    merchant_id="rzp_a",
    plan_id=PLAN_ID,
    status=SubscriptionStatus.ACTIVE,
    total_count=12,
    quantity=1,
    start_at=AT,
    expire_by=None,
    notes=None,
    test_clock_id=CLOCK_ID,
    catch_up=True,
    token="token_x",
    next_cycle=3,
    next_charge_at=datetime(2027, 3, 15, 10, 0, tzinfo=UTC),
    paid_count=2,
    cancel_at_cycle_end=False,
    ended_at=None,
    created_at=AT,
    updated_at=AT,
)
INVOICE = Invoice(
    ids.new_id("inv"), SUB_ID, 2, ORDER_ID, AT, datetime(2027, 3, 15, tzinfo=UTC), "paid", 1, None, None, AT, AT
)


def _returning(value: Any) -> Callable[..., Awaitable[Any]]:
    async def use_case(*_: Any, **__: Any) -> Any:
        return value

    return use_case


def calls() -> dict[tuple[str, str], tuple[str, dict[str, Any] | None]]:
    item = {"name": "Gold", "amount": 49900, "currency": "INR"}
    sub, clock = f"/v1/subscriptions/{SUB_ID}", f"/v1/test_clocks/{CLOCK_ID}"
    return {
        ("POST", "/v1/plans"): ("/v1/plans", {"period": "monthly", "interval": 1, "item": item}),
        ("GET", "/v1/plans"): ("/v1/plans?count=5", None),
        ("GET", "/v1/plans/{plan_id}"): (f"/v1/plans/{PLAN_ID}", None),
        ("POST", "/v1/subscriptions"): ("/v1/subscriptions", {"plan_id": PLAN_ID, "total_count": 12}),
        ("GET", "/v1/subscriptions"): (f"/v1/subscriptions?plan_id={PLAN_ID}", None),
        ("GET", "/v1/subscriptions/{sub_id}"): (sub, None),
        ("POST", "/v1/subscriptions/{sub_id}/cancel"): (f"{sub}/cancel", {"cancel_at_cycle_end": 1}),
        ("POST", "/v1/subscriptions/{sub_id}/pause"): (f"{sub}/pause", {"pause_at": "now"}),
        ("POST", "/v1/subscriptions/{sub_id}/resume"): (f"{sub}/resume", None),
        ("GET", "/v1/subscriptions/{sub_id}/checkout"): (f"{sub}/checkout", None),
        ("GET", "/v1/invoices"): (f"/v1/invoices?subscription_id={SUB_ID}", None),
        ("POST", "/v1/test_clocks"): ("/v1/test_clocks", {"frozen_time": 1_800_000_000}),
        ("GET", "/v1/test_clocks/{clock_id}"): (clock, None),
        ("POST", "/v1/test_clocks/{clock_id}/advance"): (f"{clock}/advance", {"frozen_time": 1_800_000_100}),
        **native_calls(),
    }


def native_calls() -> dict[tuple[str, str], tuple[str, dict[str, Any] | None]]:
    item = {"name": "Gold", "amount": 49900, "currency": "INR"}
    sub = f"/subscriptions/{SUB_ID}"
    return {
        ("POST", "/plans"): ("/plans", {"period": "monthly", "interval": 1, "item": item}),
        ("GET", "/plans"): ("/plans?limit=5", None),
        ("GET", "/plans/{plan_id}"): (f"/plans/{PLAN_ID}", None),
        ("POST", "/subscriptions"): ("/subscriptions", {"planId": PLAN_ID, "totalCount": 12}),
        ("GET", "/subscriptions"): (f"/subscriptions?planId={PLAN_ID}", None),
        ("GET", "/subscriptions/{subscription_id}"): (sub, None),
        ("POST", "/subscriptions/{subscription_id}/cancel"): (f"{sub}/cancel", {"cancelAtCycleEnd": True}),
        ("POST", "/subscriptions/{subscription_id}/pause"): (f"{sub}/pause", None),
        ("POST", "/subscriptions/{subscription_id}/resume"): (f"{sub}/resume", {}),
        ("GET", "/subscriptions/{subscription_id}/invoices"): (f"{sub}/invoices?limit=1", None),
    }


def stub(monkeypatch: pytest.MonkeyPatch) -> None:
    entity = SubscriptionEntity.of(SUB, Billing(AT, "monthly", 1, 12), datetime(2027, 2, 20, tzinfo=UTC), ORDER_ID)
    clock = ClockEntity.of(FrozenClock(CLOCK_ID, "rzp_a", None, AT, AT))
    monkeypatch.setattr(service, "create_plan", _returning(PlanEntity.of(PLAN)))
    monkeypatch.setattr(service, "fetch_plan", _returning(PlanEntity.of(PLAN)))
    monkeypatch.setattr(service, "list_plans", _returning(Listing([PlanEntity.of(PLAN)], "cursor")))
    for name in ("create_subscription", "fetch_subscription", "cancel", "pause", "resume"):
        monkeypatch.setattr(service, name, _returning(entity))
    monkeypatch.setattr(service, "list_subscriptions", _returning(Listing([entity], None)))
    checkout = SubscriptionCheckout(
        razorpay_payment_id="pay_x", razorpay_subscription_id=SUB_ID, razorpay_signature="ab"
    )
    monkeypatch.setattr(service, "checkout", _returning(checkout))
    invoice = InvoiceEntity.of(INVOICE, 49900, "INR")
    monkeypatch.setattr(service, "list_invoices", _returning([invoice]))
    monkeypatch.setattr(service, "subscription_invoices", _returning(Listing([invoice], "cursor")))
    for name in ("create_clock", "fetch_clock", "advance_clock"):
        monkeypatch.setattr(service, name, _returning(clock))
