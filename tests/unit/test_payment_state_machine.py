"""The payment state machine and the rule that turns a gateway report into what we record."""

from __future__ import annotations

import itertools

import pytest

from payment_svc.attempts.domain import (
    AMOUNT_MISMATCH,
    CURRENCY_MISMATCH,
    PaymentStatus,
    ReportedOutcome,
    can_transition,
    conflict_kind,
    is_anomalous,
    settle,
)

S = PaymentStatus


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_a_payment_leaves_initiated_once_and_only_to_a_terminal_status(current: S, target: S) -> None:
    expected = current is S.INITIATED and target in (S.SUCCESS, S.FAILED)
    assert can_transition(current, target) is expected


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
    if current is S.INITIATED or current is reported:
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
