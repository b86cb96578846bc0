"""The mock gateway's rule for token charges: a token names the payment it was saved from, and is
decided by that payment's status and the token's test switch."""

from __future__ import annotations

from mock_gateway.payments.domain import (
    CAPTURED,
    FAILED,
    TOKEN_DECLINED,
    TOKEN_INVALID,
    Outcome,
    decide_token,
    saved_payment_id,
)


def test_a_token_names_its_gateway_payment() -> None:
    assert saved_payment_id({"type": "token", "token": "token_0190abc"}) == "gw_0190abc"
    assert saved_payment_id({"type": "token", "token": "gw_0190abc"}) is None
    assert saved_payment_id({"type": "token", "token": 7}) is None
    assert saved_payment_id({"type": "upi", "token": "token_0190abc"}) is None
    assert saved_payment_id(None) is None


def test_a_token_charge_succeeds_only_from_a_captured_payment_not_switched_off() -> None:
    assert decide_token(CAPTURED, declines=False).outcome is Outcome.SUCCESS
    assert decide_token(CAPTURED, declines=True).decline == TOKEN_DECLINED
    for status in (None, FAILED, "authorized"):
        decision = decide_token(status, declines=False)
        assert (decision.outcome, decision.decline) == (Outcome.FAILED, TOKEN_INVALID)
