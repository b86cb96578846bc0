"""The growth run's pure parts: the ratios and goals of a preloaded database against an empty one, the
preload's plan, and the outbox bound that keeps the bench's checks off the preloaded rows."""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import growth
from benchmarks.checks import outbox_floor
from benchmarks.preload import Plan, merchants_of, other_merchant_id
from benchmarks.report import STAGES
from payments_common import ids


def level(load: str, throughput: float, p99: dict[str, float | None]) -> dict[str, Any]:
    return {
        "load": load,
        "x": 16.0,
        "settled_per_second": throughput,
        "latency": {stage: {"p99_ms": value, "n": 300} for stage, value in p99.items()},
    }


def every_stage(value: float) -> dict[str, float | None]:
    return dict.fromkeys(STAGES, value)


def test_a_level_within_both_goals_meets_them() -> None:
    empty = level("concurrency 16", 40.0, every_stage(100.0))
    preloaded = level("concurrency 16", 37.0, every_stage(149.0))

    compared = growth.compare_level(empty, preloaded)

    assert compared["settled_per_second"] == {"empty": 40.0, "preloaded": 37.0, "ratio": 0.925}
    assert compared["p99"]["lifecycle_create_to_settled_seen"] == {
        "empty_ms": 100.0,
        "preloaded_ms": 149.0,
        "ratio": 1.49,
        "n": [300, 300],
    }
    assert compared["goals"]["throughput_within_10_percent"]["met"] is True
    assert compared["goals"]["p99_within_1_5x"]["met"] is True
    assert compared["goals"]["p99_within_1_5x"]["stages_over"] == []


def test_a_throughput_more_than_10_percent_lower_misses_its_goal_and_a_higher_one_does_not() -> None:
    empty = level("concurrency 16", 40.0, every_stage(100.0))

    slower = growth.compare_level(empty, level("concurrency 16", 35.9, every_stage(100.0)))
    faster = growth.compare_level(empty, level("concurrency 16", 48.0, every_stage(100.0)))

    assert slower["settled_per_second"]["ratio"] == 0.897
    assert slower["goals"]["throughput_within_10_percent"]["met"] is False
    assert faster["goals"]["throughput_within_10_percent"]["met"] is True


def test_one_step_whose_p99_grew_past_1_5x_misses_the_goal_and_is_named() -> None:
    p99 = every_stage(100.0) | {"post_orders": 151.0, "webhook_due_to_answered": 40.0}
    empty = level("concurrency 16", 40.0, every_stage(100.0) | {"webhook_due_to_answered": 20.0})

    compared = growth.compare_level(empty, level("concurrency 16", 40.0, p99))

    goal = compared["goals"]["p99_within_1_5x"]
    assert goal["met"] is False
    assert goal["stages_over"] == ["post_orders", "webhook_due_to_answered"]
    assert (goal["worst_stage"], goal["worst_ratio"]) == ("webhook_due_to_answered", 2.0)


def test_a_stage_without_samples_is_not_judged() -> None:
    p99 = every_stage(100.0) | {"webhook_accepted_to_failed": None}

    compared = growth.compare_level(level("c", 40.0, p99), level("c", 40.0, p99))

    assert compared["p99"]["webhook_accepted_to_failed"]["ratio"] is None
    assert compared["goals"]["p99_within_1_5x"]["met"] is True


def test_the_run_meets_its_goals_only_when_every_level_does() -> None:
    empty = {"levels": [level("a", 40.0, every_stage(100.0)), level("b", 40.0, every_stage(100.0))]}
    preloaded = {"levels": [level("a", 40.0, every_stage(100.0)), level("b", 20.0, every_stage(100.0))]}

    assert growth.compare(empty, empty)["goals_met"] is True
    assert growth.compare(empty, preloaded)["goals_met"] is False
    nothing_settled = {"levels": [level("a", 0.0, every_stage(100.0)), level("b", 40.0, every_stage(100.0))]}
    assert growth.compare(nothing_settled, empty)["goals_met"] is None
    with pytest.raises(ValueError):
        growth.compare(empty, {"levels": preloaded["levels"][:1]})


def test_the_table_shows_both_databases_the_ratio_and_the_verdicts() -> None:
    empty = {"levels": [level("concurrency 16", 40.0, every_stage(100.0))]}
    preloaded = {"levels": [level("concurrency 16", 30.0, every_stage(200.0))]}
    result = {"preload": {"orders": 1_000_000, "total_s": 180.0}, "comparison": growth.compare(empty, preloaded)}

    text = growth.table(result)

    assert "1,000,000 orders preloaded" in text
    assert re.search(r"settled lifecycles/s\s+40\.0\s+30\.0\s+0\.750\s+>= 0\.9: NOT MET", text)
    assert re.search(r"p99 ms lifecycle: create -> settled seen\s+100\.0\s+200\.0\s+2\.000\s+300/300", text)
    assert "growth goals: NOT MET" in text


def test_the_plan_covers_every_order_once_in_batches() -> None:
    plan = Plan.make(250_001, ["rzp_test_a"], batch=100_000)

    assert plan.batches() == [(1, 100_000), (100_001, 200_000), (200_001, 250_001)]
    assert plan.merchants[0] == "rzp_test_a" and len(plan.merchants) == 9
    # the newest preloaded order is an hour old: a run's ids, minted now, sort after all of them
    newest = plan.start.timestamp() + plan.step_s * (plan.orders - 1)
    assert newest <= plan.start.timestamp() + 90 * 86400 + 1


def test_merchants_follow_order_svc_formats() -> None:
    assert merchants_of("rzp_test_a:s1, rzp_test_b:s2,") == ["rzp_test_a", "rzp_test_b"]
    assert re.fullmatch(r"merch_[0-9A-Za-z]{14}", other_merchant_id())


def test_the_outbox_floor_is_a_minute_before_the_oldest_order() -> None:
    orders = [ids.new_id(ids.ORDER) for _ in range(3)]
    oldest_ms = min(uuid.UUID(o.removeprefix("order_")).int >> 80 for o in orders)

    floor = outbox_floor(orders)

    assert floor.int >> 80 == oldest_ms - 60_000
    # any outbox id minted since the orders were is above it
    assert uuid.UUID(str(ids.new_uuid())) > floor


def test_the_outbox_floor_is_no_bound_for_ids_it_cannot_read() -> None:
    assert outbox_floor([]) == uuid.UUID(int=0)
    assert outbox_floor(["order_not-a-uuid"]) == uuid.UUID(int=0)
    assert outbox_floor([f"order_{uuid.uuid4()}"]) == uuid.UUID(int=0)
