"""Properties of payment-svc's state machine under any sequence of gateway reports.

The gateway sends SUCCESS/FAILED/AUTHORIZED reports for the attempts of one order, with the right, a wrong or no
amount and currency; they arrive in any order, any number of times. Each delivery is applied the way
`payment_svc.attempts.settlement.apply_report` applies it, through the same pure rules (`can_transition`,
`settle`, `conflict_kind`, `is_anomalous`), and new attempts are started only as `initiate_payment`
allows (none while one is INITIATED or AUTHORIZED, none once the order is paid); an AUTHORIZED attempt
may be captured or voided (`attempts.capture`) at any point. Whatever the sequence:

- an attempt leaves INITIATED at most once, an AUTHORIZED one is captured or voided at most once, and
  none moves after a terminal status;
- an AUTHORIZED attempt never pays its order: only its capture (a SUCCESS) does;
- an order has at most one SUCCESS attempt, however many attempts it had;
- a SUCCESS for another amount or currency settles the attempt FAILED, and is kept as an anomaly;
- the order is PAID (both payment-svc's `paid_payment_id` and order-svc's status) iff exactly one
  attempt is SUCCESS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule

from payment_svc.attempts.domain import (
    AMOUNT_MISMATCH,
    AUTHORIZATION_EXPIRED,
    CURRENCY_MISMATCH,
    OPEN,
    TERMINAL,
    PaymentStatus,
    ReportedOutcome,
    can_transition,
    conflict_kind,
    is_anomalous,
    settle,
)
from payments_common.money import MAX_AMOUNT, SUPPORTED_CURRENCIES

S = PaymentStatus
# a report's amount or currency: the order's own, another one, or left out by the gateway
SAME = "same"
CURRENCIES = sorted(SUPPORTED_CURRENCIES)


@dataclass
class Attempt:
    id: int
    status: PaymentStatus = S.INITIATED
    error_code: str | None = None
    # every status the attempt had, in order: [INITIATED] or [INITIATED, terminal]
    history: list[PaymentStatus] = field(default_factory=lambda: [S.INITIATED])


@dataclass(frozen=True)
class Report:
    attempt: Attempt
    status: PaymentStatus
    amount: int | str | None
    currency: str | None


@dataclass
class Order:
    amount: int
    currency: str
    attempts: list[Attempt] = field(default_factory=list)
    # payment-svc's order_payments.paid_payment_id: set once, by the first SUCCESS
    paid_by: int | None = None
    # order-svc's status, moved by the events payment-svc emits, in the order they are emitted
    status: str = "CREATED"
    anomalies: list[tuple[int, str]] = field(default_factory=list)


def apply_report(order: Order, attempt: Attempt, reported: ReportedOutcome) -> bool:
    """`settlement.apply_report` without the database; True when the attempt changed."""
    if not can_transition(attempt.status, reported.status):
        anomaly = conflict_kind(attempt.status, reported.status, attempt.error_code)
        if anomaly:
            order.anomalies.append((attempt.id, anomaly))
        return False
    outcome = settle(order.amount, order.currency, reported)
    attempt.status, attempt.error_code = outcome.status, outcome.error_code
    attempt.history.append(outcome.status)
    if outcome.status is S.SUCCESS and order.paid_by is None:  # settle names it: WHERE paid_payment_id IS NULL
        order.paid_by = attempt.id
    if is_anomalous(outcome.error_code):
        order.anomalies.append((attempt.id, str(outcome.error_code)))
    # order-svc applies the emitted event: PAID on a success from any status, FAILED only from CREATED
    if outcome.status is S.SUCCESS:
        order.status = "PAID"
    elif outcome.status is S.FAILED and order.status == "CREATED":
        order.status = "FAILED"
    return True


class PaymentReports(RuleBasedStateMachine):
    attempts = Bundle("attempts")
    reports = Bundle("reports")

    def __init__(self) -> None:
        super().__init__()
        self.order = Order(amount=1, currency="INR")

    @initialize(amount=st.integers(1, MAX_AMOUNT), currency=st.sampled_from(CURRENCIES))
    def create_order(self, amount: int, currency: str) -> None:
        self.order = Order(amount=amount, currency=currency)

    @rule(target=attempts)
    def start_attempt(self) -> Any:
        """`initiate_payment`'s checks: 409 ORDER_ALREADY_PAID, 409 PAYMENT_IN_PROGRESS, else a new attempt."""
        if self.order.paid_by is not None or any(a.status in OPEN for a in self.order.attempts):
            return multiple()
        attempt = Attempt(id=len(self.order.attempts))
        self.order.attempts.append(attempt)
        return attempt

    @rule(
        target=reports,
        attempt=attempts,
        status=st.sampled_from([S.SUCCESS, S.FAILED, S.AUTHORIZED]),
        amount=st.one_of(st.none(), st.just(SAME), st.integers(1, MAX_AMOUNT * 1000)),
        currency=st.one_of(st.none(), st.just(SAME), st.sampled_from(CURRENCIES)),
    )
    def gateway_sends(
        self, attempt: Attempt, status: PaymentStatus, amount: int | str | None, currency: str | None
    ) -> Report:
        return Report(attempt, status, amount, currency)

    # drawing from the bundle without consuming it: any report may arrive again, and in any order
    @precondition(lambda self: bool(self.order.attempts))
    @rule(report=reports)
    def deliver(self, report: Report) -> None:
        amount = self.order.amount if report.amount == SAME else report.amount
        currency = self.order.currency if report.currency == SAME else report.currency
        assert amount is None or isinstance(amount, int)
        attempt = report.attempt
        before = attempt.status
        anomalies_before = len(self.order.anomalies)

        changed = apply_report(self.order, attempt, ReportedOutcome(report.status, amount, currency))

        if before in TERMINAL or report.status is before:
            assert not changed and attempt.status is before
            settled_authorisation = report.status is S.AUTHORIZED and (
                before is S.SUCCESS or attempt.error_code == AUTHORIZATION_EXPIRED
            )
            contradicts = report.status is not before and not settled_authorisation
            assert len(self.order.anomalies) == anomalies_before + contradicts
            return
        assert changed
        wrong_amount = amount is not None and amount != self.order.amount
        wrong_currency = currency is not None and currency != self.order.currency
        if report.status in (S.SUCCESS, S.AUTHORIZED) and (wrong_amount or wrong_currency):
            assert attempt.status is S.FAILED
            assert attempt.error_code == (AMOUNT_MISMATCH if wrong_amount else CURRENCY_MISMATCH)
            assert self.order.anomalies[-1] == (attempt.id, attempt.error_code)
        else:
            assert attempt.status is report.status
            assert len(self.order.anomalies) == anomalies_before

    @precondition(lambda self: any(a.status is S.AUTHORIZED for a in self.order.attempts))
    @rule(capture=st.booleans())
    def merchant_captures_or_reconciler_voids(self, capture: bool) -> None:
        """`capture_payment` (the gateway's record captured) or the void (voided), of the authorised one."""
        attempt = next(a for a in self.order.attempts if a.status is S.AUTHORIZED)
        paid_before = self.order.status == "PAID"
        if capture:
            reported = ReportedOutcome(S.SUCCESS, self.order.amount, self.order.currency)
        else:
            reported = ReportedOutcome(S.FAILED, error_code=AUTHORIZATION_EXPIRED)
        assert apply_report(self.order, attempt, reported)
        assert attempt.status is (S.SUCCESS if capture else S.FAILED)
        # a capture pays the order; a void leaves it as it was paid or not
        assert (self.order.status == "PAID") == (capture or paid_before)

    @invariant()
    def an_attempt_leaves_initiated_at_most_once_and_never_moves_after(self) -> None:
        for attempt in self.order.attempts:
            assert attempt.history[0] is S.INITIATED
            assert len(attempt.history) <= 3
            assert attempt.history[-1] is attempt.status
            # INITIATED, then optionally AUTHORIZED, then a terminal status
            middle, final = attempt.history[1:-1], attempt.history[1:][-1:]
            assert middle in ([], [S.AUTHORIZED])
            if len(attempt.history) == 3:
                assert final[0] in TERMINAL
            assert all(status in TERMINAL or status is S.AUTHORIZED for status in attempt.history[1:])

    @invariant()
    def at_most_one_attempt_in_flight_and_one_success(self) -> None:
        statuses = [attempt.status for attempt in self.order.attempts]
        assert statuses.count(S.INITIATED) + statuses.count(S.AUTHORIZED) <= 1
        assert statuses.count(S.SUCCESS) <= 1

    @invariant()
    def paid_iff_exactly_one_success(self) -> None:
        successes = [attempt.id for attempt in self.order.attempts if attempt.status is S.SUCCESS]
        assert (self.order.status == "PAID") == (len(successes) == 1)
        assert (self.order.paid_by is not None) == (len(successes) == 1)
        if successes:
            assert self.order.paid_by == successes[0]


PaymentReports.TestCase.settings = settings(
    max_examples=300, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestPaymentReports = PaymentReports.TestCase
