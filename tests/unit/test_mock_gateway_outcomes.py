"""The mock gateway's test values: what each `method` makes of a payment."""

from __future__ import annotations

from typing import Any

import pytest

from mock_gateway.payments.domain import Outcome, outcome_for, vpa_tokens


@pytest.mark.parametrize(
    ("method", "outcome"),
    [
        (None, Outcome.SUCCESS),
        ({}, Outcome.SUCCESS),
        ({"type": "upi", "vpa": "success@razorpay"}, Outcome.SUCCESS),
        ({"type": "upi", "vpa": "failure@razorpay"}, Outcome.FAILED),
        ({"type": "upi", "vpa": "pending@razorpay"}, Outcome.PENDING),
        ({"type": "upi", "vpa": " Failure@Razorpay "}, Outcome.FAILED),
        ({"type": "upi", "vpa": "failure.duplicate@razorpay"}, Outcome.FAILED),
        ({"type": "upi", "vpa": "pending.timeout.delay@razorpay"}, Outcome.PENDING),
        ({"type": "upi", "vpa": "success.late-success@razorpay"}, Outcome.SUCCESS),
        # the outcome word must come first, and only the test domain carries test values
        ({"type": "upi", "vpa": "duplicate.failure@razorpay"}, Outcome.SUCCESS),
        ({"type": "upi", "vpa": "failure@okbank"}, Outcome.SUCCESS),
        ({"type": "upi", "vpa": "someone@okbank"}, Outcome.SUCCESS),
        ({"type": "upi", "vpa": "failure"}, Outcome.SUCCESS),
        ({"type": "upi"}, Outcome.SUCCESS),
        ({"type": "upi", "vpa": None}, Outcome.SUCCESS),
        ({"type": "upi", "vpa": 42}, Outcome.SUCCESS),
        ({"type": "card", "last4": "1111"}, Outcome.SUCCESS),
    ],
)
def test_outcome_for(method: dict[str, Any] | None, outcome: Outcome) -> None:
    assert outcome_for(method) is outcome


@pytest.mark.parametrize(
    ("vpa", "tokens"),
    [
        ("success@razorpay", ("success",)),
        ("Failure.Late-Success.REORDER@razorpay", ("failure", "late-success", "reorder")),
        ("success..duplicate.@razorpay", ("success", "duplicate")),
        ("success.duplicate@okbank", ()),
        ("no-at-sign", ()),
    ],
)
def test_vpa_tokens(vpa: str, tokens: tuple[str, ...]) -> None:
    assert vpa_tokens({"type": "upi", "vpa": vpa}) == tokens


@pytest.mark.parametrize(
    ("outcome", "gateway_status", "sends_webhook"),
    [
        (Outcome.SUCCESS, "captured", True),
        (Outcome.FAILED, "failed", True),
        (Outcome.PENDING, "created", False),
    ],
)
def test_what_each_outcome_does(outcome: Outcome, gateway_status: str, sends_webhook: bool) -> None:
    assert outcome.gateway_status == gateway_status
    assert outcome.sends_webhook is sends_webhook
