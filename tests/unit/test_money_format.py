"""Amounts as receipts and emails show them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments_common.money import CURRENCY_EXPONENTS, format_amount


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1500, "INR", "₹15.00"),
        (2599, "USD", "$25.99"),
        (5, "EUR", "€0.05"),
        (123456789, "GBP", "£1,234,567.89"),
        (1000, "JPY", "¥1,000"),
        (100, "SGD", "S$1.00"),
        (100, "AED", "AED 1.00"),
        (-250, "INR", "-₹2.50"),
        (100, "XYZ", "1.00 XYZ"),
    ],
)
def test_formats_amounts_for_their_currency(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


@given(st.integers(min_value=0, max_value=10**10), st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_digits_read_back_to_the_same_amount(amount: int, currency: str) -> None:
    digits = "".join(ch for ch in format_amount(amount, currency) if ch.isdigit())
    assert int(digits) == amount
