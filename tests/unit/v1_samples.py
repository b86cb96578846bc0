"""The /v1 routes and the native lists as `test_order_svc_answers` drives them: what each is asked, and
its use cases stubbed to answer entities built from that test's samples."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from order_svc.lists import service as lists
from order_svc.lists.schemas import OrderPage, PaymentPage, RefundPage
from order_svc.orders.domain import Order
from order_svc.orders.schemas import OrderResource, OrderSummary
from order_svc.payments.domain import PaymentView
from order_svc.payments.schemas import PaymentAttempt
from order_svc.refunds.domain import RefundView
from order_svc.refunds.schemas import RefundResource
from order_svc.v1.orders import service as orders
from order_svc.v1.orders.schemas import OrderEntity
from order_svc.v1.payments import service as payments
from order_svc.v1.payments.repository import PaymentDetails
from order_svc.v1.payments.schemas import CheckoutResponse, PaymentCreated, PaymentEntity
from order_svc.v1.refunds import service as refunds
from order_svc.v1.refunds.schemas import RefundEntity


def _returning(value: Any) -> Callable[..., Awaitable[Any]]:
    async def use_case(*_: Any, **__: Any) -> Any:
        return value

    return use_case


def calls(order_id: str, payment_id: str, refund_id: str) -> dict[tuple[str, str], tuple[str, dict[str, Any] | None]]:
    card = {"number": "4111111111111111", "expiry_month": "12", "expiry_year": "30", "cvv": "123", "name": "A"}
    pay = {
        "amount": 1500,
        "currency": "INR",
        "order_id": order_id,
        "email": "asha@example.com",
        "contact": "+919000090000",
        "method": "card",
        "card": card,
    }
    return {
        ("POST", "/v1/orders"): ("/v1/orders", {"amount": 1500, "currency": "INR", "payment_capture": 1}),
        ("GET", "/v1/orders"): ("/v1/orders?count=2&skip=0&from=0&authorized=1", None),
        ("GET", "/v1/orders/{order_id}"): (f"/v1/orders/{order_id}", None),
        ("GET", "/v1/orders/{order_id}/payments"): (f"/v1/orders/{order_id}/payments", None),
        ("POST", "/v1/payments/create/json"): ("/v1/payments/create/json", pay),
        ("GET", "/v1/payments"): ("/v1/payments?count=100", None),
        ("GET", "/v1/payments/{payment_id}"): (f"/v1/payments/{payment_id}", None),
        ("PATCH", "/v1/payments/{payment_id}"): (f"/v1/payments/{payment_id}", {"notes": {"k": "v"}}),
        ("GET", "/v1/payments/{payment_id}/checkout"): (f"/v1/payments/{payment_id}/checkout", None),
        ("POST", "/v1/payments/{payment_id}/refund"): (f"/v1/payments/{payment_id}/refund", {"amount": 500}),
        ("POST", "/v1/payments/{payment_id}/capture"): (
            f"/v1/payments/{payment_id}/capture",
            {"amount": 1500, "currency": "INR"},
        ),
        ("GET", "/v1/payments/{payment_id}/refunds"): (f"/v1/payments/{payment_id}/refunds", None),
        ("GET", "/v1/payments/{payment_id}/refunds/{refund_id}"): (
            f"/v1/payments/{payment_id}/refunds/{refund_id}",
            None,
        ),
        ("GET", "/v1/refunds"): ("/v1/refunds", None),
        ("GET", "/v1/refunds/{refund_id}"): (f"/v1/refunds/{refund_id}", None),
        ("GET", "/v1/methods"): ("/v1/methods", None),
        ("GET", "/methods"): ("/methods", None),
        # the native lists
        ("GET", "/orders"): ("/orders?limit=5&status=PAID&from=2026-01-01T00:00:00Z", None),
        ("GET", "/payments"): ("/payments?status=SUCCESS", None),
        ("GET", "/payments/{payment_id}"): (f"/payments/{payment_id}", None),
        ("GET", "/refunds"): ("/refunds?limit=100", None),
    }


def stub(monkeypatch: pytest.MonkeyPatch, order: Order, view: PaymentView, refund: RefundView) -> None:
    entity = OrderEntity.of(order, 1)
    payment = PaymentEntity.of(view, [refund], PaymentDetails("asha@example.com", "+919000090000", {"k": "v"}))
    refund_entity = RefundEntity.of(refund, ("r-1", "normal"))
    monkeypatch.setattr(orders, "create", _returning(entity))
    monkeypatch.setattr(orders, "fetch", _returning(entity))
    monkeypatch.setattr(orders, "list_orders", _returning([entity]))
    created = PaymentCreated(razorpay_payment_id=view.id, razorpay_order_id=order.id, next=[])
    monkeypatch.setattr(payments, "create_json", _returning(created))
    monkeypatch.setattr(payments, "fetch", _returning(payment))
    monkeypatch.setattr(payments, "list_payments", _returning([payment]))
    monkeypatch.setattr(payments, "edit_notes", _returning(payment))
    monkeypatch.setattr(payments, "capture", _returning(payment))
    checkout = CheckoutResponse(razorpay_payment_id=view.id, razorpay_order_id=order.id, razorpay_signature="ab" * 32)
    monkeypatch.setattr(payments, "checkout", _returning(checkout))
    monkeypatch.setattr(refunds, "create", _returning(refund_entity))
    monkeypatch.setattr(refunds, "fetch", _returning(refund_entity))
    monkeypatch.setattr(refunds, "list_refunds", _returning([refund_entity]))
    summary = {
        key: value
        for key, value in OrderResource.of(order, []).model_dump().items()
        if key in OrderSummary.model_fields
    }
    attempt = PaymentAttempt.of(view, [refund])
    monkeypatch.setattr(lists, "orders_page", _returning(OrderPage(items=[OrderSummary(**summary)], nextCursor="c")))
    monkeypatch.setattr(lists, "payments_page", _returning(PaymentPage(items=[attempt], nextCursor=None)))
    monkeypatch.setattr(lists, "payment", _returning(attempt))
    refund_page = RefundPage(items=[RefundResource.of(refund)], nextCursor=None)
    monkeypatch.setattr(lists, "refunds_page", _returning(refund_page))
