"""The chaos run's table and the pure helpers around it: rows from verdicts, queue listings, log lines,
the load mix, the admin CLI's dead-letter listing."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.chaos.invariants import Verdict, Violation
from tests.chaos.load import VPA_MIX, choose_vpas, receipt_for
from tests.chaos.observe import accepted_from_logs, busy, parse_queue_listing
from tests.chaos.poison import find_dead_letter, reason_of
from tests.chaos.report import COLUMNS, PhaseRow, format_table, phase_row, skipped_row
from tests.chaos.runner import split


def row(fault: str, **overrides: object) -> PhaseRow:
    values: dict[str, object] = {
        "fault": fault,
        "payments": 111,
        "accepted": 150,
        "applied": 150,
        "lost": 0,
        "applied_twice": 0,
        "settle_seconds": 12.34,
        "failed_checks": 0,
        "checks_not_run": 0,
        "gateway_compared": 111,
        "gateway_agreed": 111,
    }
    values.update(overrides)
    return PhaseRow(**values)  # type: ignore[arg-type]


def test_the_table_has_the_report_columns_and_one_aligned_line_per_phase_and_the_total() -> None:
    table = format_table(
        [
            row("kill -9 payment-svc"),
            row("RabbitMQ restart", lost=2, failed_checks=2, settle_seconds=None, gateway_agreed=110),
        ],
        row("total", payments=222, accepted=300, applied=298, lost=2, failed_checks=1, settle_seconds=None),
    )
    lines = table.splitlines()
    assert [c.strip() for c in lines[0].strip("|").split("|")] == list(COLUMNS)
    assert len({len(line) for line in lines}) == 1, "every line is as wide as the header"
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert cells[2] == ["kill -9 payment-svc", "111", "150", "150", "0", "0", "12.3 s", "111/111", "ok"]
    assert cells[3] == ["RabbitMQ restart", "111", "150", "150", "2", "0", "NOT SETTLED", "110/111", "2 FAILED"]
    assert cells[5][0] == "total" and cells[5][4] == "2"
    assert set(lines[1]) == {"|", "-"} and lines[4] == lines[1]


def test_unknown_counts_show_as_not_available_and_checks_not_run_are_shown() -> None:
    table = format_table(
        [
            row(
                "poison",
                accepted=None,
                applied=None,
                lost=None,
                checks_not_run=2,
                gateway_compared=None,
                gateway_agreed=None,
            )
        ]
    )
    cells = [c.strip() for c in table.splitlines()[2].strip("|").split("|")]
    assert cells[2:5] == ["n/a", "n/a", "n/a"]
    assert cells[-2] == "n/a"
    assert cells[-1] == "ok, 2 not run"


def test_a_phase_row_takes_its_counts_and_problems_from_the_verdict() -> None:
    verdict = Verdict(
        orders=3,
        orders_with_attempts=3,
        payments=4,
        accepted=10,
        applied=9,
        gateway_compared=4,
        gateway_disagreed=1,
        lost=["e7"],
        applied_twice=["payment p1 settled 2 times"],
        violations=[Violation("queues drained", "q", "1 messages left")],
        not_run=["late success is an anomaly: payment-svc has no anomalies table"],
    )
    r = phase_row("kill -9 order-svc", 3, verdict, 4.5)
    assert (r.payments, r.accepted, r.applied, r.lost, r.applied_twice) == (3, 10, 9, 1, 1)
    assert (r.failed_checks, r.checks_not_run, r.settle_seconds) == (1, 1, 4.5)
    assert (r.gateway_agreed, r.gateway_compared) == (3, 4)
    assert r.problems == [
        "queues drained: q: 1 messages left",
        "lost: e7",
        "applied twice: payment p1 settled 2 times",
        "not run: late success is an anomaly: payment-svc has no anomalies table",
    ]
    assert not r.ok
    unknown = phase_row("x", 3, Verdict(accepted=None), 1.0)
    assert unknown.lost is None and unknown.ok
    assert (unknown.gateway_agreed, unknown.gateway_compared) == (None, None)
    assert not phase_row("x", 3, Verdict(accepted=0, applied=0), None).ok, "a phase that never settled fails"


def test_the_queue_listing_of_rabbitmqctl_is_read_with_its_header_lines() -> None:
    text = 'Timeout: 60.0 seconds ...\n[\n{"name":"a.dlq","messages":1}\n,{"name":"a","messages":0}\n]\n'
    assert parse_queue_listing(text) == {"a.dlq": 1, "a": 0}


def test_busy_ignores_dead_letter_queues_and_zero_counts() -> None:
    left = busy({"attempts INITIATED": 0, "payments.outbox unpublished": 3}, {"a": 2, "a.dlq": 5, "b": 0})
    assert left == {"payments.outbox unpublished": 3, "queue a": 2}


def test_accepted_events_from_the_services_logs() -> None:
    lines = [
        '{"event":"webhook.accepted","event_id":"e1","payment_id":"p1","service":"webhook-gateway"}',
        '{"event":"webhook.delivered","event_id":"e1","payment_id":"p1","status_code":200}',
        '{"event":"webhook.delivered","event_id":"e2","payment_id":"p2","status_code":200}',
        '{"event":"webhook.rejected","event_id":"e3","payment_id":"p3"}',
        "not json webhook.accepted",
    ]
    assert [(a.event_id, a.payment_id) for a in accepted_from_logs(lines)] == [("e1", "p1"), ("e2", "p2")]


def test_the_load_mix_keeps_its_proportions_and_has_every_test_value() -> None:
    vpas = choose_vpas(111, seed=3)
    assert len(vpas) == 111
    counts = Counter(vpas)
    assert set(counts) == {vpa for vpa, _ in VPA_MIX}
    total = sum(w for _, w in VPA_MIX)
    for vpa, weight in VPA_MIX:
        assert abs(counts[vpa] - 111 * weight / total) < 1, vpa
    assert choose_vpas(111, seed=3) == vpas, "the same seed gives the same load"
    assert len(choose_vpas(3, seed=1)) == 3
    assert Counter(choose_vpas(6, seed=1)) == Counter(vpa for vpa, _ in VPA_MIX), "room for each: each once"


def test_phases_split_the_payments_evenly_and_receipts_name_the_phase() -> None:
    assert split(1000, 9) == [112] + [111] * 8
    assert sum(split(7, 3)) == 7
    assert receipt_for(3, 42) == "chaos-p03-00042"


def test_the_dead_letter_of_an_event_is_found_in_the_admin_listing() -> None:
    listing = {
        "groups": [{"count": 1, "reason": "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT"}],
        "messages": [
            {"id": "evt_other", "reason": "ORDER_MISMATCH"},
            {"id": "evt_1", "headers": {"dead-letter-reason": "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT"}},
        ],
    }
    entry = find_dead_letter(listing, "evt_1")
    assert entry is not None and reason_of(entry) == "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT"
    assert find_dead_letter(listing, "evt_missing") is None


def test_a_skipped_phase_shows_no_counts_and_fails() -> None:
    skipped = skipped_row("PostgreSQL restart", "the system did not settle after phase 5")
    cells = [c.strip() for c in format_table([skipped]).splitlines()[2].strip("|").split("|")]
    assert cells == ["PostgreSQL restart", "-", "-", "-", "-", "-", "-", "-", "skipped"]
    assert not skipped.ok and skipped.problems == ["skipped: the system did not settle after phase 5"]
