"""The chaos run's invariant checker on hand-made rows: what it counts as lost, applied twice, and broken."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.chaos.invariants import (
    AcceptedEvent,
    Anomaly,
    Delivery,
    GatewayRecord,
    Order,
    Payment,
    PaymentEvent,
    Snapshot,
    Verdict,
    View,
    Violation,
    check,
    combine,
    gateway_disagreement,
)
from tests.chaos.report import phase_row


def healthy() -> Snapshot:
    """Two orders: o1 paid by p1 (its webhook delivered twice under one id, the second ignored by the
    inbox), o2 failed by p2 and then a late SUCCESS for it ignored as an anomaly (so the gateway,
    which failed p2 first, ends with it captured)."""
    return Snapshot(
        orders=[
            Order("o1", "PAID", "chaos-p01-00000", 1500, "INR"),
            Order("o2", "FAILED", "chaos-p01-00001", 2500, "INR"),
        ],
        payments=[
            Payment("p1", "o1", "SUCCESS", gateway_payment_id="gw1"),
            Payment("p2", "o2", "FAILED", "UPI_DECLINED", "gw2"),
        ],
        views=[View("p1", "o1", "SUCCESS"), View("p2", "o2", "FAILED")],
        events=[
            PaymentEvent("p1", "created", "api"),
            PaymentEvent("p1", "settled", "webhook", "e1"),
            PaymentEvent("p2", "created", "api"),
            PaymentEvent("p2", "settled", "webhook", "e2"),
            PaymentEvent("p2", "conflict_ignored", "webhook", "e3"),
        ],
        inbox={"e1", "e2", "e3"},
        accepted=[
            AcceptedEvent("e1", "p1", "settlement"),
            AcceptedEvent("e2", "p2", "settlement"),
            AcceptedEvent("e3", "p2", "late_success"),
        ],
        anomalies=[Anomaly("p2", "SUCCESS_AFTER_FAILED", "e3")],
        deliveries=[
            Delivery("e1", "p1", "settlement", "delivered"),
            Delivery("e2", "p2", "settlement", "delivered"),
            Delivery("e3", "p2", "late_success", "delivered"),
        ],
        gateway_payments=[
            GatewayRecord("p1", "o1", "captured", 1500, "INR", "gw1"),
            GatewayRecord("p2", "o2", "captured", 2500, "INR", "gw2"),
        ],
        outbox_backlog={"orders": 0, "payments": 0},
        queues={"payment-svc.webhooks": 0, "payment-svc.webhooks.dlq": 0, "payment-svc.webhooks.retry.200ms": 0},
    )


def test_a_healthy_system_passes_and_counts_every_accepted_event_applied() -> None:
    verdict = check(healthy())
    assert verdict.ok and verdict.complete, (verdict.violations, verdict.not_run)
    assert (verdict.orders, verdict.orders_with_attempts, verdict.payments) == (2, 2, 2)
    assert (verdict.accepted, verdict.applied, verdict.lost, verdict.applied_twice) == (3, 3, [], [])
    assert (verdict.gateway_compared, verdict.gateway_disagreed) == (2, 0)


def test_an_accepted_event_payment_svc_never_recorded_is_lost() -> None:
    snapshot = healthy()
    snapshot = replace(snapshot, accepted=[*snapshot.accepted, AcceptedEvent("e4", "p1", "duplicate")])
    verdict = check(snapshot)
    assert verdict.lost == ["e4"]
    assert (verdict.accepted, verdict.applied) == (4, 3)
    assert not verdict.ok


def test_an_event_only_claimed_in_the_inbox_counts_as_applied() -> None:
    # a duplicate delivery finds the inbox claim and is acked without a payment_events row
    snapshot = healthy()
    snapshot = replace(
        snapshot, accepted=[*snapshot.accepted, AcceptedEvent("e5", "p1", "duplicate")], inbox={*snapshot.inbox, "e5"}
    )
    verdict = check(snapshot)
    assert verdict.lost == [] and verdict.applied == 4


def test_an_event_recorded_twice_and_a_payment_settled_twice_are_applied_twice() -> None:
    snapshot = healthy()
    snapshot = replace(
        snapshot,
        events=[
            *snapshot.events,
            PaymentEvent("p1", "ignored_already_settled", "webhook", "e1"),
            PaymentEvent("p2", "settled", "reconciliation"),
        ],
    )
    verdict = check(snapshot)
    assert verdict.applied_twice == ["event e1 recorded 2 times", "payment p2 settled 2 times"]
    assert not verdict.ok


def test_a_duplicate_delivery_turned_away_by_the_inbox_is_not_applied_twice() -> None:
    snapshot = healthy()
    duplicate = PaymentEvent("p1", "duplicate_ignored", "webhook", "e1")
    verdict = check(replace(snapshot, events=[*snapshot.events, duplicate, duplicate]))
    assert verdict.applied_twice == []
    assert verdict.ok
    # the same event recorded once more by an applying kind is still caught
    applying = PaymentEvent("p1", "ignored_already_settled", "webhook", "e1")
    verdict = check(replace(snapshot, events=[*snapshot.events, duplicate, applying]))
    assert verdict.applied_twice == ["event e1 recorded 2 times"]


def test_paid_needs_exactly_one_success_attempt() -> None:
    snapshot = healthy()
    broken = replace(
        snapshot,
        orders=[Order("o1", "PAID"), Order("o2", "FAILED"), Order("o3", "PAID")],
        payments=[
            Payment("p1", "o1", "SUCCESS"),
            Payment("p1b", "o1", "SUCCESS"),
            Payment("p2", "o2", "SUCCESS"),
            Payment("p3", "o3", "FAILED"),
        ],
        views=[
            View("p1", "o1", "SUCCESS"),
            View("p1b", "o1", "SUCCESS"),
            View("p2", "o2", "SUCCESS"),
            View("p3", "o3", "FAILED"),
        ],
        accepted=[],
        # the gateway's side of these made-up attempts is not what this test is about
        gateway_payments=None,
    )
    found = {(v.check, v.subject) for v in check(broken).violations}
    assert found == {("PAID <=> one SUCCESS", "o1"), ("PAID <=> one SUCCESS", "o2"), ("PAID <=> one SUCCESS", "o3")}


def test_order_svc_must_see_each_attempt_as_payment_svc_does() -> None:
    snapshot = replace(healthy(), views=[View("p1", "o1", "INITIATED"), View("px", "o2", "FAILED")])
    found = {(v.subject, v.detail) for v in check(snapshot).violations}
    assert ("p1", "order-svc says INITIATED, payment-svc says SUCCESS") in found
    assert ("p2", "order-svc has no view (FAILED)") in found
    assert ("px", "order-svc has an attempt payment-svc does not know") in found


def test_attempts_left_initiated_and_orders_left_created_are_violations() -> None:
    snapshot = healthy()
    snapshot = replace(
        snapshot,
        orders=[*snapshot.orders, Order("o3", "CREATED"), Order("o4", "CREATED")],
        payments=[*snapshot.payments, Payment("p3", "o3", "INITIATED")],
        views=[*snapshot.views, View("p3", "o3", "INITIATED")],
    )
    found = {(v.check, v.subject, v.detail) for v in check(snapshot).violations}
    assert found == {
        ("no attempt INITIATED", "p3", "attempt of o3 still INITIATED"),
        ("order settled", "o3", "order left CREATED (1 attempts)"),
        ("order settled", "o4", "order left CREATED (no payment attempt at all)"),
    }


def test_a_late_success_must_leave_the_payment_failed_and_an_anomaly() -> None:
    no_anomaly = replace(healthy(), anomalies=[])
    assert [(v.check, v.subject) for v in check(no_anomaly).violations] == [("late success is an anomaly", "p2")]

    succeeded = healthy()
    succeeded = replace(
        succeeded,
        orders=[Order("o1", "PAID"), Order("o2", "PAID")],
        payments=[Payment("p1", "o1", "SUCCESS"), Payment("p2", "o2", "SUCCESS")],
        views=[View("p1", "o1", "SUCCESS"), View("p2", "o2", "SUCCESS")],
    )
    assert ("late success stays FAILED", "p2") in {(v.check, v.subject) for v in check(succeeded).violations}

    no_table = replace(healthy(), anomalies=None)
    verdict = check(no_table)
    assert verdict.ok and not verdict.complete
    assert verdict.not_run == ["late success is an anomaly: payment-svc has no anomalies table"]


def test_without_a_record_of_accepted_events_lost_is_not_run_rather_than_zero() -> None:
    verdict = check(replace(healthy(), accepted=None, accepted_source="gateway tables missing"))
    assert verdict.accepted is None and verdict.applied is None and verdict.lost == []
    assert not verdict.complete
    assert any(
        n.startswith("lost (accepted but never applied)") and "gateway tables missing" in n for n in verdict.not_run
    )


def test_a_phase_is_judged_on_its_own_orders_and_their_events_only() -> None:
    snapshot = healthy()
    snapshot = replace(
        snapshot,
        orders=[*snapshot.orders, Order("o9", "CREATED", "chaos-p02-00000")],
        payments=[*snapshot.payments, Payment("p9", "o9", "INITIATED")],
        accepted=[*snapshot.accepted, AcceptedEvent("e9", "p9")],
    )
    phase_one = check(snapshot, {"o1", "o2"}, global_checks=False)
    assert phase_one.ok and (phase_one.orders, phase_one.accepted, phase_one.lost) == (2, 3, [])
    phase_two = check(snapshot, {"o9"}, global_checks=False)
    assert phase_two.lost == ["e9"] and phase_two.accepted == 1
    assert {v.check for v in phase_two.violations} == {
        "no attempt INITIATED",
        "order settled",
        "order-svc view = payment-svc",
    }


def test_an_event_for_a_payment_nobody_has_is_lost_only_in_the_whole_run_check() -> None:
    snapshot = healthy()
    snapshot = replace(snapshot, accepted=[*snapshot.accepted, AcceptedEvent("ex", "p-unknown")])
    assert check(snapshot, {"o1", "o2"}).lost == []
    assert check(snapshot).lost == ["ex"]


def test_outboxes_and_queues_must_be_drained_and_dlqs_hold_only_deliberate_dead_letters() -> None:
    snapshot = replace(
        healthy(),
        outbox_backlog={"orders": 0, "payments": 2},
        queues={
            "payment-svc.webhooks": 0,
            "payment-svc.webhooks.retry.500ms": 1,
            "payment-svc.webhooks.dlq": 1,
            "order-svc.payment-events.dlq": 1,
        },
        expected_dead_letters={"payment-svc.webhooks.dlq": 1},
    )
    found = {(v.check, v.subject, v.detail) for v in check(snapshot).violations}
    assert found == {
        ("outbox drained", "payments.outbox", "2 rows unpublished"),
        ("queues drained", "payment-svc.webhooks.retry.500ms", "1 messages left"),
        ("DLQ holds only deliberate dead letters", "order-svc.payment-events.dlq", "1 messages, expected 0"),
    }
    assert check(snapshot, global_checks=False).ok


def test_queues_that_could_not_be_listed_are_reported_as_not_run() -> None:
    verdict = check(replace(healthy(), queues=None))
    assert verdict.ok and not verdict.complete
    assert any("could not list the queues" in n for n in verdict.not_run)


def test_a_webhook_the_gateway_never_delivered_is_a_violation_even_if_nothing_was_accepted() -> None:
    snapshot = healthy()
    snapshot = replace(
        snapshot,
        deliveries=[
            *snapshot.deliveries,
            Delivery("e6", "p1", "duplicate", "pending"),
            Delivery("e7", "p2", "settlement", "gave_up"),
            Delivery("e8", "p-other", "settlement", "refused"),
        ],
    )
    found = {(v.check, v.subject, v.detail) for v in check(snapshot, {"o1", "o2"}).violations}
    assert found == {
        ("every planned webhook delivered", "e6", "duplicate webhook of p1 ended pending"),
        ("every planned webhook delivered", "e7", "settlement webhook of p2 ended gave_up"),
    }
    assert check(replace(healthy(), deliveries=None)).not_run == [
        "every planned webhook delivered: the gateway does not record its deliveries"
    ]


def test_the_whole_run_counts_each_event_once_and_keeps_every_distinct_failure() -> None:
    shared = Violation("order settled", "o3", "order left CREATED (no payment attempt at all)")
    whole = Verdict(orders=3, payments=3, accepted=10, applied=9, lost=["e1"], violations=[shared])
    phase_one = Verdict(accepted=6, applied=5, lost=["e1"], violations=[shared])
    phase_two = Verdict(
        accepted=4,
        applied=4,
        violations=[Violation("phase", "postgres-restart", "not settled after 120 s")],
        not_run=["x"],
    )
    total = combine(whole, [phase_one, phase_two])
    assert (total.accepted, total.applied, total.lost) == (10, 9, ["e1"])
    assert (total.gateway_compared, total.gateway_disagreed) == (None, 0), "the gateway counts are the whole's"
    assert total.violations == [shared, Violation("phase", "postgres-restart", "not settled after 120 s")]
    assert total.not_run == ["x"] and not total.ok


def test_orders_set_aside_on_purpose_are_not_judged() -> None:
    snapshot = healthy()
    snapshot = replace(
        snapshot,
        orders=[*snapshot.orders, Order("o5", "CREATED")],
        payments=[*snapshot.payments, Payment("p5", "o5", "INITIATED")],
        accepted=[*snapshot.accepted, AcceptedEvent("e5", "p5")],
    )
    assert not check(snapshot).ok
    verdict = check(snapshot, set_aside={"o5"})
    assert verdict.ok and verdict.orders == 2 and verdict.accepted == 3


ORDER = Order("o1", "PAID", None, 1500, "INR")


def record(status: str, **overrides: object) -> GatewayRecord:
    values: dict[str, object] = {
        "payment_id": "p1",
        "order_id": "o1",
        "status": status,
        "amount": 1500,
        "currency": "INR",
        "id": "gw1",
    }
    values.update(overrides)
    return GatewayRecord(**values)  # type: ignore[arg-type]


def ours(status: str, error_code: str | None = None, gateway_payment_id: str | None = "gw1") -> Payment:
    return Payment("p1", "o1", status, error_code, gateway_payment_id)


def test_a_capture_agrees_with_a_success_and_with_a_failure_kept_as_an_anomaly() -> None:
    assert gateway_disagreement(ours("SUCCESS"), record("captured"), ORDER, ()) is None
    # the gateway settled what we had given up on, or a success we refused: payment-svc kept it FAILED
    # and recorded it for an operator
    for code, anomaly in [
        ("EXPIRED", "SUCCESS_AFTER_FAILED"),
        ("GATEWAY_ERROR", "SUCCESS_AFTER_FAILED"),
        ("AMOUNT_MISMATCH", "AMOUNT_MISMATCH"),
        ("CURRENCY_MISMATCH", "CURRENCY_MISMATCH"),
    ]:
        assert gateway_disagreement(ours("FAILED", code), record("captured"), ORDER, {anomaly}) is None, code
    assert (
        gateway_disagreement(ours("FAILED", "EXPIRED"), record("captured"), ORDER, ())
        == "payment-svc says FAILED (EXPIRED), the gateway says captured and no anomaly was recorded"
    )
    assert (
        gateway_disagreement(ours("FAILED", "EXPIRED"), record("captured"), ORDER, {"FAILED_AFTER_SUCCESS"}) is not None
    ), "an anomaly of another kind does not explain a capture we kept FAILED"


def test_a_gateway_failure_agrees_only_with_a_failure() -> None:
    assert gateway_disagreement(ours("FAILED", "UPI_DECLINED"), record("failed"), ORDER, ()) is None
    assert gateway_disagreement(ours("FAILED", "EXPIRED"), record("failed"), ORDER, ()) is None
    assert (
        gateway_disagreement(ours("SUCCESS"), record("failed"), ORDER, ())
        == "payment-svc says SUCCESS, the gateway says failed"
    )


def test_a_payment_the_gateway_never_settled_must_have_been_given_up_on() -> None:
    assert gateway_disagreement(ours("FAILED", "EXPIRED"), record("created"), ORDER, ()) is None
    # the gateway created it but its answer never reached payment-svc (killed mid-request)
    assert gateway_disagreement(ours("FAILED", "GATEWAY_ERROR", None), record("created"), ORDER, ()) is None
    assert (
        gateway_disagreement(ours("FAILED", "UPI_DECLINED"), record("created"), ORDER, ())
        == "payment-svc says FAILED (UPI_DECLINED), the gateway says created"
    )
    assert (
        gateway_disagreement(ours("SUCCESS"), record("created"), ORDER, ())
        == "payment-svc says SUCCESS, the gateway says created"
    )


def test_an_attempt_the_gateway_never_heard_of_must_have_failed_without_it() -> None:
    assert gateway_disagreement(ours("FAILED", "GATEWAY_ERROR", None), None, ORDER, ()) is None
    assert gateway_disagreement(ours("FAILED", "EXPIRED", None), None, ORDER, ()) is None
    assert (
        gateway_disagreement(ours("SUCCESS"), None, ORDER, ())
        == "payment-svc says SUCCESS, the gateway never heard of it"
    )
    assert (
        gateway_disagreement(ours("FAILED", "UPI_DECLINED"), None, ORDER, ())
        == "payment-svc says FAILED (UPI_DECLINED), the gateway never heard of it"
    )


def test_the_gateway_record_must_be_for_this_order_this_id_and_the_orders_amount() -> None:
    assert (
        gateway_disagreement(ours("SUCCESS"), record("captured", order_id="o2"), ORDER, ())
        == "the gateway has it for order o2, payment-svc for o1"
    )
    assert (
        gateway_disagreement(ours("SUCCESS"), record("captured", id="gw9"), ORDER, ())
        == "the gateway's id is gw9, payment-svc holds gw1"
    )
    assert (
        gateway_disagreement(ours("SUCCESS"), record("captured", amount=1400), ORDER, ())
        == "payment-svc says SUCCESS, the gateway has it for 1400 INR, the order is for 1500 INR"
    )
    assert (
        gateway_disagreement(ours("FAILED", "UPI_DECLINED"), record("failed", currency="USD"), ORDER, ())
        == "payment-svc says FAILED (UPI_DECLINED), the gateway has it for 1500 USD, the order is for 1500 INR"
    )
    # an attempt failed before it learned the gateway's id has none to compare
    assert gateway_disagreement(ours("FAILED", "GATEWAY_ERROR", None), record("created"), ORDER, ()) is None
    assert (
        gateway_disagreement(ours("SUCCESS"), record("refunded"), ORDER, ())
        == "payment-svc says SUCCESS, the gateway says refunded, a status the gateway does not have"
    )


def test_a_planted_disagreement_with_the_gateway_fails_the_check_and_the_phase_row() -> None:
    snapshot = healthy()
    gateway = list(snapshot.gateway_payments or [])
    gateway[0] = GatewayRecord("p1", "o1", "failed", 1500, "INR", "gw1")
    verdict = check(replace(snapshot, gateway_payments=gateway), {"o1", "o2"}, global_checks=False)
    assert not verdict.ok
    assert verdict.violations == [
        Violation("gateway agrees", "p1", "payment-svc says SUCCESS, the gateway says failed")
    ]
    assert (verdict.gateway_compared, verdict.gateway_disagreed) == (2, 1)
    row = phase_row("kill -9 mock-gateway", 2, verdict, 3.0)
    assert (row.gateway_agreed, row.gateway_compared, row.failed_checks) == (1, 2, 1) and not row.ok


def test_a_late_success_without_its_anomaly_is_counted_once_by_the_late_success_check() -> None:
    verdict = check(replace(healthy(), anomalies=[]))
    assert [v.check for v in verdict.violations] == ["late success is an anomaly"]
    assert (verdict.gateway_compared, verdict.gateway_disagreed) == (2, 0)


def test_a_capture_we_kept_failed_is_judged_here_when_it_was_no_late_success() -> None:
    # payment-svc never got the creation's answer, then the gateway's SUCCESS webhook came
    snapshot = replace(
        healthy(),
        payments=[
            Payment("p1", "o1", "SUCCESS", gateway_payment_id="gw1"),
            Payment("p2", "o2", "FAILED", "GATEWAY_ERROR"),
        ],
        accepted=[AcceptedEvent("e1", "p1", "settlement"), AcceptedEvent("e2", "p2", "settlement")],
        events=[
            PaymentEvent("p1", "settled", "webhook", "e1"),
            PaymentEvent("p2", "conflict_ignored", "webhook", "e2"),
        ],
        deliveries=[],
    )
    assert check(snapshot).ok, check(snapshot).violations
    missing = check(replace(snapshot, anomalies=[]))
    assert missing.violations == [
        Violation(
            "gateway agrees",
            "p2",
            "payment-svc says FAILED (GATEWAY_ERROR), the gateway says captured and no anomaly was recorded",
        )
    ]
    unknown = check(replace(snapshot, anomalies=None))
    assert unknown.ok and unknown.gateway_compared == 1
    assert unknown.not_run == ["gateway agrees: a capture payment-svc kept FAILED needs its anomalies table"]


def test_attempts_still_initiated_and_the_harnesss_own_are_not_held_against_the_gateway() -> None:
    snapshot = healthy()
    snapshot = replace(
        snapshot,
        orders=[*snapshot.orders, Order("o3", "FAILED", None, 100, "INR"), Order("o4", "PAID", None, 100, "INR")],
        payments=[*snapshot.payments, Payment("p3", "o3", "INITIATED"), Payment("p4", "o4", "SUCCESS", None, "gw4")],
        views=[*snapshot.views, View("p3", "o3", "INITIATED"), View("p4", "o4", "SUCCESS")],
        gateway_payments=[*(snapshot.gateway_payments or []), GatewayRecord("p3", "o3", "created", 100, "INR")],
        harness_payments={"p4"},
    )
    verdict = check(snapshot)
    assert [(v.check, v.subject) for v in verdict.violations] == [("no attempt INITIATED", "p3")]
    assert (verdict.gateway_compared, verdict.gateway_disagreed) == (2, 0)
    assert not check(replace(snapshot, harness_payments=frozenset())).ok


def test_a_gateway_payment_nobody_has_is_a_disagreement_of_the_whole_run_only() -> None:
    snapshot = healthy()
    stray = GatewayRecord("p-stray", "o9", "captured", 100, "INR", "gw9")
    snapshot = replace(snapshot, gateway_payments=[*(snapshot.gateway_payments or []), stray])
    assert check(snapshot, {"o1", "o2"}, global_checks=False).ok
    whole = check(snapshot)
    assert whole.violations == [
        Violation("gateway agrees", "p-stray", "the gateway says captured, payment-svc has no such attempt")
    ]
    assert (whole.gateway_compared, whole.gateway_disagreed) == (3, 1)


def test_without_the_gateways_records_the_comparison_is_not_run() -> None:
    verdict = check(replace(healthy(), gateway_payments=None))
    assert verdict.ok and verdict.gateway_compared is None
    assert verdict.not_run == ["gateway agrees: the gateway does not record its payments"]


def test_a_manual_capture_settles_twice_once_authorised_and_once_captured_or_voided() -> None:
    snapshot = healthy()
    manual = [replace(p, manual_capture=True) if p.id == "p1" else p for p in snapshot.payments]
    twice = [*snapshot.events, PaymentEvent("p1", "settled", "api")]
    assert check(replace(snapshot, payments=manual, events=twice)).applied_twice == []
    thrice = [*twice, PaymentEvent("p1", "settled", "expiry")]
    assert check(replace(snapshot, payments=manual, events=thrice)).applied_twice == ["payment p1 settled 3 times"]
    # an automatic capture's second settlement is still applied twice
    assert check(replace(snapshot, events=twice)).applied_twice == ["payment p1 settled 2 times"]


def test_an_authorisation_agrees_with_authorized_and_a_void_with_a_failure() -> None:
    assert gateway_disagreement(ours("AUTHORIZED"), record("authorized"), ORDER, ()) is None
    assert gateway_disagreement(ours("FAILED", "AUTHORIZATION_EXPIRED"), record("voided"), ORDER, ()) is None
    assert gateway_disagreement(ours("SUCCESS"), record("voided"), ORDER, ()) is not None
    assert gateway_disagreement(ours("SUCCESS"), record("authorized"), ORDER, ()) is not None


def test_an_attempt_left_authorized_is_not_settled() -> None:
    snapshot = healthy()
    payments = [replace(p, status="AUTHORIZED") if p.id == "p1" else p for p in snapshot.payments]
    verdict = check(replace(snapshot, payments=payments))
    assert any(v.check == "no attempt INITIATED" and v.subject == "p1" for v in verdict.violations)
