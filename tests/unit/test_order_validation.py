"""The client API's input rules, as the order-svc models enforce them."""

from __future__ import annotations

from typing import Any

import pytest

from order_svc.orders.schemas import CreateOrder
from order_svc.payments.schemas import InitiatePayment
from payments_common.errors import ApiError
from payments_common.http import parse_model


def _field_of(model: type, body: dict[str, Any]) -> str | None:
    with pytest.raises(ApiError) as caught:
        parse_model(model, body)
    assert caught.value.status == 400
    assert caught.value.code == "BAD_REQUEST_ERROR"
    assert caught.value.description
    return caught.value.field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 0, "currency": "INR"}, "amount"),
        ({"amount": True, "currency": "INR"}, "amount"),
        ({"amount": 1.0, "currency": "INR"}, "amount"),
        ({"amount": "15", "currency": "INR"}, "amount"),
        ({"amount": 10**10 + 1, "currency": "INR"}, "amount"),
        ({"amount": 100, "currency": "inr"}, "currency"),
        ({"amount": 100, "currency": "XYZ"}, "currency"),
        ({"amount": 100, "currency": "INR", "receipt": "r" * 41}, "receipt"),
        ({"amount": 100, "currency": "INR", "receipt": "r\x00"}, "receipt"),
        ({"amount": 100, "currency": "INR", "notes": {"a": 1}}, "notes.a"),
        ({"amount": 100, "currency": "INR", "notes": {str(i): "v" for i in range(16)}}, "notes"),
        ({"amount": 100, "currency": "INR", "extra": 1}, "extra"),
    ],
)
def test_invalid_orders_name_the_field(body: dict[str, Any], field: str) -> None:
    assert _field_of(CreateOrder, body) == field


def test_a_valid_order_keeps_receipt_and_notes() -> None:
    order = parse_model(CreateOrder, {"amount": 10**10, "currency": "JPY", "receipt": "r1", "notes": {"k": "v"}})
    assert (order.amount, order.currency, order.receipt, order.notes) == (10**10, "JPY", "r1", {"k": "v"})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "orderId"),
        ({"orderId": 5}, "orderId"),
        ({"orderId": "order_x", "method": {"type": "upi"}}, "method.vpa"),
        ({"orderId": "order_x", "method": {"type": "upi", "vpa": "no-at-sign"}}, "method.vpa"),
        ({"orderId": "order_x", "method": {"type": "cash"}}, "method.type"),
    ],
)
def test_invalid_initiations_name_the_field(body: dict[str, Any], field: str) -> None:
    assert _field_of(InitiatePayment, body) == field


def test_initiation_method_is_passed_on_as_given() -> None:
    cmd = parse_model(InitiatePayment, {"orderId": "order_x", "method": {"type": "upi", "vpa": "success@razorpay"}})
    assert cmd.method_dict() == {"type": "upi", "vpa": "success@razorpay"}
    assert parse_model(InitiatePayment, {"orderId": "order_x"}).method_dict() is None
