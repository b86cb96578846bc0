"""The growth run's comparison: each load level on an empty database, then on one with N orders and their
payments preloaded (`benchmarks.preload`), and whether the system held its goals as the data grew.

Goals (per level): settled lifecycles/s preloaded at least 90 % of the empty database's ("throughput within
10 %": being faster with more data is no failure), and the p99 of the whole lifecycle and of each step at
most 1.5x the empty database's. Pure: the bench runs the two phases and hands their results here.
"""

from __future__ import annotations

from typing import Any

from benchmarks.report import STAGES

THROUGHPUT_FLOOR = 0.9
P99_CEILING = 1.5


def ratio(preloaded: float | None, empty: float | None) -> float | None:
    """preloaded / empty, or None when either is missing (or the empty one is zero)."""
    if preloaded is None or not empty:
        return None
    return round(preloaded / empty, 3)


def compare_level(empty: dict[str, Any], preloaded: dict[str, Any]) -> dict[str, Any]:
    """One load level's throughput and p99 of each stage, on both databases, with the ratios and the goals."""
    throughput = ratio(preloaded["settled_per_second"], empty["settled_per_second"])
    p99: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        before = empty["latency"].get(stage, {}).get("p99_ms")
        after = preloaded["latency"].get(stage, {}).get("p99_ms")
        p99[stage] = {
            "empty_ms": before,
            "preloaded_ms": after,
            "ratio": ratio(after, before),
            # with few samples a p99 is nearly the maximum: the table shows how many there were
            "n": [empty["latency"].get(stage, {}).get("n", 0), preloaded["latency"].get(stage, {}).get("n", 0)],
        }
    measured = {stage: v["ratio"] for stage, v in p99.items() if v["ratio"] is not None}
    over = sorted(stage for stage, r in measured.items() if r > P99_CEILING)
    worst = max(measured, key=lambda stage: measured[stage], default=None)
    return {
        "load": empty["load"],
        "x": empty["x"],
        "settled_per_second": {
            "empty": empty["settled_per_second"],
            "preloaded": preloaded["settled_per_second"],
            "ratio": throughput,
        },
        "p99": p99,
        "goals": {
            "throughput_within_10_percent": {
                "ratio": throughput,
                "at_least": THROUGHPUT_FLOOR,
                "met": None if throughput is None else throughput >= THROUGHPUT_FLOOR,
            },
            "p99_within_1_5x": {
                "worst_stage": worst,
                "worst_ratio": measured.get(worst) if worst else None,
                "at_most": P99_CEILING,
                "stages_over": over,
                "met": None if not measured else not over,
            },
        },
    }


def compare(empty: dict[str, Any], preloaded: dict[str, Any]) -> dict[str, Any]:
    """Both phases' results (`report.combine` documents): the levels paired in order, and every goal's verdict.
    `goals_met` is None when a goal could not be judged at some level (nothing settled there)."""
    if [lv["load"] for lv in empty["levels"]] != [lv["load"] for lv in preloaded["levels"]]:
        raise ValueError("the two phases ran different load levels")
    levels = [compare_level(a, b) for a, b in zip(empty["levels"], preloaded["levels"], strict=True)]
    verdicts = [goal["met"] for level in levels for goal in level["goals"].values()]
    met = None if any(v is None for v in verdicts) else all(verdicts)
    return {"levels": levels, "goals_met": met}


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "NOT MET")


def table(result: dict[str, Any]) -> str:
    """The growth section of the printed report."""
    preload = result.get("preload") or {}
    lines = [
        f"\n== growth: {preload.get('orders', 0):,} orders preloaded (in {preload.get('total_s', '-')} s) "
        "against an empty database =="
    ]
    for level in result["comparison"]["levels"]:
        tp, goals = level["settled_per_second"], level["goals"]
        lines.append(f"\n{level['load']:<47} {'empty':>9} {'preloaded':>10} {'ratio':>7} {'n':>11}")
        lines.append(
            f"{'settled lifecycles/s':<47} {_num(tp['empty']):>9} {_num(tp['preloaded']):>10} "
            f"{_num(tp['ratio'], 3):>7}  >= {THROUGHPUT_FLOOR}: "
            f"{_verdict(goals['throughput_within_10_percent']['met'])}"
        )
        for stage, label in STAGES.items():
            p = level["p99"][stage]
            samples = "/".join(str(n) for n in p.get("n", []))
            lines.append(
                f"{'p99 ms ' + label:<47} {_num(p['empty_ms']):>9} {_num(p['preloaded_ms']):>10} "
                f"{_num(p['ratio'], 3):>7} {samples:>11}"
            )
        p99 = goals["p99_within_1_5x"]
        over = f" (over: {', '.join(p99['stages_over'])})" if p99["stages_over"] else ""
        lines.append(f"p99 within {P99_CEILING}x at every stage: {_verdict(p99['met'])}{over}")
    lines.append(f"\ngrowth goals: {_verdict(result['comparison']['goals_met'])}")
    return "\n".join(lines)
