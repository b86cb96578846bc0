"""The mock gateway's manual capture: a success is only authorised (its webhook reports AUTHORIZED), then
captured or voided; a status never moves back, so a late authorisation never undoes either."""

from __future__ import annotations

import random

from mock_gateway.delivery.faults import Fault
from mock_gateway.delivery.plan import plan_deliveries
from mock_gateway.payments.domain import (
    AUTHORIZED,
    CAPTURED,
    CREATED,
    FAILED,
    STATUS_ORDER,
    VOIDED,
    Decision,
    Outcome,
    authorised_only,
    capture_refusal,
    decide,
)

SUCCESS_CARD = {"type": "card", "number": "4111111111111111"}
DECLINED_CARD = {"type": "card", "number": "4000000000000002"}


def test_a_manual_capture_s_success_is_an_authorisation_and_a_decline_stays_a_decline() -> None:
    assert authorised_only(decide(SUCCESS_CARD), "manual") == Decision(Outcome.AUTHORIZED)
    assert authorised_only(decide(SUCCESS_CARD), "automatic").outcome is Outcome.SUCCESS
    declined = authorised_only(decide(DECLINED_CARD), "manual")
    assert declined.outcome is Outcome.FAILED and declined.decline is not None
    assert Outcome.AUTHORIZED.gateway_status == AUTHORIZED and Outcome.AUTHORIZED.sends_webhook


def test_an_authorisation_s_webhook_reports_authorized_and_makes_it_authorized() -> None:
    ids = iter(range(100))
    plan = plan_deliveries(
        Outcome.AUTHORIZED,
        frozenset({Fault.DUPLICATE, Fault.LATE_SUCCESS}),
        settle_delay=0.2,
        fault_delay=1.0,
        rng=random.Random(1),
        new_event_id=lambda: f"evt_{next(ids)}",
    )
    assert plan.faults == frozenset({Fault.DUPLICATE})  # no late success of an authorisation
    assert {(d.reports, d.sets_status) for d in plan.deliveries} == {(Outcome.AUTHORIZED, AUTHORIZED)}


def test_captured_and_voided_are_final_an_authorisation_delivered_late_never_moves_them() -> None:
    position = STATUS_ORDER.index
    assert position(CREATED) < position(AUTHORIZED) < position(VOIDED) < position(CAPTURED)
    assert position(FAILED) < position(AUTHORIZED)


def test_only_an_authorised_payment_is_captured_for_its_own_amount() -> None:
    assert capture_refusal(AUTHORIZED, 1500, "INR", 1500, "INR") is None
    assert capture_refusal(CAPTURED, 1500, "INR", 1500, "INR") is None  # idempotent
    assert capture_refusal(AUTHORIZED, 1500, "INR", 1499, "INR") is not None
    assert capture_refusal(AUTHORIZED, 1500, "INR", 1500, "USD") is not None
    for status in (CREATED, FAILED, VOIDED):
        assert capture_refusal(status, 1500, "INR", 1500, "INR") is not None
