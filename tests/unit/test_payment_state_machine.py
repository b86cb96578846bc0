"""The payment state machine and the rule that turns a gateway report into what we record."""

from __future__ import annotations

import itertools

import pytest

from payment_svc.attempts.domain import (
    AMOUNT_MISMATCH,
    AUTHORIZATION_EXPIRED,
    CURRENCY_MISMATCH,
    VOIDED,
    PaymentStatus,
    ReportedOutcome,
    can_transition,
    capture_refusal,
    conflict_kind,
    is_anomalous,
    moves_from,
    settle,
)

S = PaymentStatus


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_a_payment_leaves_initiated_once_and_an_authorisation_is_captured_or_voided_once(current: S, target: S) -> None:
    allowed = {
        (S.INITIATED, S.SUCCESS),
        (S.INITIATED, S.FAILED),
        (S.INITIATED, S.AUTHORIZED),
        (S.AUTHORIZED, S.SUCCESS),  # captured
        (S.AUTHORIZED, S.FAILED),  # voided
    }
    assert can_transition(current, target) is ((current, target) in allowed)
    # the SQL guard of an UPDATE to `target` admits exactly the same statuses
    assert (current.value in moves_from(target)) is ((current, target) in allowed)


def test_success_and_failure_are_final() -> None:
    for final in (S.SUCCESS, S.FAILED):
        assert not any(can_transition(final, target) for target in S)


def test_an_authorisation_for_the_order_s_amount_is_authorized_another_amount_fails() -> None:
    authorised = settle(1500, "INR", ReportedOutcome(S.AUTHORIZED, amount=1500, currency="INR"))
    assert (authorised.status, authorised.error_code) == (S.AUTHORIZED, None)
    wrong = settle(1500, "INR", ReportedOutcome(S.AUTHORIZED, amount=1, currency="INR"))
    assert (wrong.status, wrong.error_code) == (S.FAILED, AMOUNT_MISMATCH)
    assert is_anomalous(wrong.error_code)


def test_only_an_authorisation_for_the_authorised_amount_and_currency_is_captured() -> None:
    assert capture_refusal(S.AUTHORIZED, 1500, "INR", 1500, "INR") is None
    assert (capture_refusal(S.AUTHORIZED, 1500, "INR", 1000, "INR") or "").startswith("amount:")
    assert (capture_refusal(S.AUTHORIZED, 1500, "INR", 1500, "USD") or "").startswith("currency:")
    for status in (S.INITIATED, S.SUCCESS, S.FAILED):
        assert capture_refusal(status, 1500, "INR", 1500, "INR")


def test_an_authorisation_reported_again_after_its_capture_or_void_is_no_anomaly() -> None:
    assert conflict_kind(S.AUTHORIZED, S.AUTHORIZED) is None
    assert conflict_kind(S.SUCCESS, S.AUTHORIZED) is None
    assert conflict_kind(S.FAILED, S.AUTHORIZED, AUTHORIZATION_EXPIRED) is None
    assert conflict_kind(S.FAILED, S.AUTHORIZED, VOIDED) is None
    # an authorisation of a payment that failed otherwise (expired unauthorised, declined) holds money
    assert conflict_kind(S.FAILED, S.AUTHORIZED, "EXPIRED") == "AUTHORIZED_AFTER_FAILED"


def test_success_with_matching_or_absent_amount_is_success() -> None:
    assert settle(1500, "INR", ReportedOutcome(S.SUCCESS)).status is S.SUCCESS
    exact = settle(1500, "INR", ReportedOutcome(S.SUCCESS, amount=1500, currency="INR"))
    assert (exact.status, exact.error_code) == (S.SUCCESS, None)


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [(1, "INR", AMOUNT_MISMATCH), (1501, None, AMOUNT_MISMATCH), (None, "USD", CURRENCY_MISMATCH)],
)
def test_success_for_the_wrong_amount_or_currency_is_recorded_as_a_failure(
    amount: int | None, currency: str | None, code: str
) -> None:
    result = settle(1500, "INR", ReportedOutcome(S.SUCCESS, amount=amount, currency=currency))
    assert result.status is S.FAILED
    assert result.error_code == code
    assert result.error_description


def test_failure_keeps_the_gateways_reason_or_gets_a_generic_one() -> None:
    given = settle(100, "INR", ReportedOutcome(S.FAILED, error_code="BAD_REQUEST_ERROR", error_description="declined"))
    assert (given.status, given.error_code, given.error_description) == (S.FAILED, "BAD_REQUEST_ERROR", "declined")
    generic = settle(100, "INR", ReportedOutcome(S.FAILED))
    assert generic.status is S.FAILED and generic.error_code == "PAYMENT_FAILED"


@pytest.mark.parametrize(("current", "reported"), list(itertools.product(S, (S.SUCCESS, S.FAILED))))
def test_only_a_report_contradicting_a_settled_payment_is_an_anomaly(current: S, reported: S) -> None:
    kind = conflict_kind(current, reported)
    # an open attempt (INITIATED, or AUTHORIZED and waiting for its capture) takes a SUCCESS or a FAILED
    if current in (S.INITIATED, S.AUTHORIZED) or current is reported:
        assert kind is None
    else:
        assert kind == f"{reported.value}_AFTER_{current.value}"


def test_a_late_success_after_a_failure_is_named_for_what_happened() -> None:
    assert conflict_kind(S.FAILED, S.SUCCESS) == "SUCCESS_AFTER_FAILED"


def test_a_success_refused_for_its_amount_or_currency_is_an_anomaly_other_failures_are_not() -> None:
    assert is_anomalous(AMOUNT_MISMATCH) and is_anomalous(CURRENCY_MISMATCH)
    declined = settle(1500, "INR", ReportedOutcome(S.FAILED, error_code="BAD_REQUEST_ERROR"))
    assert not is_anomalous(declined.error_code)
    assert not is_anomalous(None)
