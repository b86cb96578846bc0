"""The component phase's pure parts: the ratios of POST /orders and the webhook gateway to their bounds,
the goals' verdicts, the open loop's size and the printed table."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import components


def run(per_second: float, p50: float, p99: float, errors: int = 0, late: int = 0) -> dict[str, Any]:
    """One run as `components.measure` and `baselines.app_baseline` report it."""
    return {
        "load": "concurrency 50",
        "x": 50.0,
        "elapsed_s": 10.0,
        "completed": 1000,
        "errors": {"RuntimeError: 503": errors} if errors else {},
        "late_starts": late,
        "per_second": per_second,
        "latency": {"n": 1000, "p50_ms": p50, "p95_ms": (p50 + p99) / 2, "p99_ms": p99, "max_ms": p99 * 2},
        "cpu_seconds": {"load-generator": 1.0},
    }


def ours(orders: dict[str, Any], webhook: dict[str, Any], at_half: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "clients": 50,
        "requests": 1000,
        "post_orders": orders,
        "webhook": {
            "first_answer": 200,
            "order_status_after_first": "PAID",
            "body_bytes": 350,
            "closed": webhook,
            "open_half_max": at_half,
        },
    }


def bounds(orders: dict[str, Any], ingress: dict[str, Any]) -> dict[str, Any]:
    return {
        "orders": {"closed": orders},
        "ingress": {
            "closed": ingress,
            "open_half_own_max": run(ingress["per_second"] / 2, 3.0, 9.0),
            "open_half_our_max": run(150.0, 2.0, 6.0),
        },
    }


def test_ratios_are_ours_over_the_bound_and_missing_without_a_bound() -> None:
    assert components.ratio(400.0, 500.0) == 0.8
    assert components.ratio(1.0, 3.0) == 0.333
    assert components.ratio(None, 500.0) is None
    assert components.ratio(400.0, 0.0) is None


def test_a_goal_is_met_at_its_limit_and_not_judged_without_a_value() -> None:
    assert components.goal(0.8, at_least=0.8)["met"] is True
    assert components.goal(0.799, at_least=0.8)["met"] is False
    assert components.goal(25.0, at_most=25.0)["met"] is True
    assert components.goal(25.1, at_most=25.0)["met"] is False
    assert components.goal(None, at_most=25.0) == {"value": None, "at_least": None, "at_most": 25.0, "met": None}


def test_the_open_loop_runs_its_seconds_within_the_closed_loops_count() -> None:
    assert components.half(301.0) == 150.5
    assert components.half(0.0) is None
    assert components.open_requests(150.0, 5000) == 1500
    assert components.open_requests(10.0, 5000) == components.MIN_OPEN
    assert components.open_requests(1000.0, 5000) == 5000
    assert components.open_requests(10.0, 100) == 100


def test_components_within_their_bounds_meet_every_goal() -> None:
    section = components.compare(
        ours(run(800.0, 10.0, 30.0), run(900.0, 20.0, 40.0), run(450.0, 5.0, 25.0)),
        bounds(run(1000.0, 8.0, 20.0), run(1000.0, 15.0, 30.0)),
    )

    assert section["post_orders"]["ratio"] == 0.8
    assert section["webhook"]["ratio"] == 0.9
    assert section["post_orders"]["ours"]["p99_ms"] == 30.0
    assert section["webhook"]["ours_at_half_our_max"]["p99_ms"] == 25.0
    assert section["webhook"]["bound_at_half_its_max"]["per_second"] == 500.0
    assert section["webhook"]["bound_at_half_our_max"]["p99_ms"] == 6.0
    assert {name: g["met"] for name, g in section["goals"].items()} == {
        "orders_throughput": True,
        "orders_p99_ms": True,
        "webhook_throughput": True,
        "webhook_p99_ms_at_half_max": True,
    }
    assert section["goals_met"] is True


def test_each_goal_is_judged_on_its_own_figure() -> None:
    section = components.compare(
        ours(run(300.0, 50.0, 120.0, errors=3), run(900.0, 20.0, 40.0), run(450.0, 5.0, 26.0)),
        bounds(run(1000.0, 8.0, 20.0), run(1000.0, 15.0, 30.0)),
    )

    goals = section["goals"]
    assert (goals["orders_throughput"]["value"], goals["orders_throughput"]["met"]) == (0.3, False)
    assert (goals["orders_p99_ms"]["value"], goals["orders_p99_ms"]["met"]) == (120.0, False)
    assert goals["webhook_throughput"]["met"] is True
    assert (goals["webhook_p99_ms_at_half_max"]["value"], goals["webhook_p99_ms_at_half_max"]["met"]) == (26.0, False)
    assert section["post_orders"]["ours"]["errors"] == 3
    assert section["goals_met"] is False


def test_without_an_open_loop_the_webhook_latency_goal_is_not_judged() -> None:
    measured = ours(run(800.0, 10.0, 30.0), run(0.0, 0.0, 0.0), None)
    section = components.compare(measured, bounds(run(1000.0, 8.0, 20.0), run(1000.0, 15.0, 30.0)))

    assert section["webhook"]["ours_at_half_our_max"] is None
    assert section["goals"]["webhook_p99_ms_at_half_max"]["met"] is None
    assert section["goals_met"] is None


def test_the_table_shows_both_sides_their_latencies_and_the_verdicts() -> None:
    section = components.compare(
        ours(run(300.0, 50.0, 120.0), run(900.0, 20.0, 40.0), run(450.0, 5.0, 12.5, late=4)),
        bounds(run(1000.0, 8.0, 20.0), run(1000.0, 15.0, 30.0)),
    )

    text = components.table(section)

    assert "1,000 requests at 50 clients" in text
    assert re.search(r"POST /orders, ours, 50 clients\s+300\.0/s\s+50\.0\s+85\.0\s+120\.0\s+errors 0", text)
    assert re.search(r"order-creation bound, 50 clients\s+1000\.0/s\s+8\.0\s+14\.0\s+20\.0", text)
    assert re.search(r"webhook gateway, ours, half our max\s+450\.0/s\s+5\.0\s+8\.8\s+12\.5\s+errors 0, 4 late", text)
    assert re.search(r"ingress bound, half its own max\s+500\.0/s", text)
    assert "first answer 200, order then PAID" in text
    assert "goal POST /orders >= 0.8 of its bound: ours/bound 0.300: NOT MET" in text
    assert "goal POST /orders p99 <= 30 ms at 50 clients: 120.0 ms: NOT MET" in text
    assert "goal webhook gateway >= 0.8 of the ingress bound: ours/bound 0.900: met" in text
    assert "goal webhook p99 <= 25 ms at half its max rate: 12.5 ms: met" in text
