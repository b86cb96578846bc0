"""The benchmark's result document, its table and its chart.

Each bound is turned into lifecycles per second before the ratio is taken: pgbench runs one script per
lifecycle; the ingress bound's webhooks/s is divided by the webhooks a lifecycle caused (duplicates
included), the broker bound's messages/s by the broker messages a lifecycle caused (webhooks plus
outbox events), the order bound's orders/s is one per lifecycle. Latency ratios pair each of the
system's stages with the bound that does the same step minimally, that bound driven open loop at the rate
the step ran at in the system (so both see the same load); the database's latency is pgbench's time for
one lifecycle's SQL at the level's client count, against the whole lifecycle's.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

# (bound, our latency, its latency key): the stage of the system each bound does minimally
LATENCY_PAIRS = {
    "orders": ("post_orders", "latency"),
    "ingress": ("webhook_due_to_answered", "latency"),
    "broker": ("webhook_accepted_to_paid", "latency_end_to_end"),
    "database": ("lifecycle_create_to_settled_seen", "latency"),
}
STAGES = {
    "post_orders": "POST /orders",
    "post_payments_initiate": "POST /payments/initiate",
    "webhook_due_to_answered": "webhook due -> answered (gw records)",
    "webhook_accepted_to_paid": "webhook accepted -> order PAID",
    "webhook_accepted_to_failed": "webhook accepted -> order FAILED",
    "lifecycle_create_to_settled_seen": "lifecycle: create -> settled seen",
}


def _ratio(ours: float | None, base: float | None) -> float | None:
    return round(ours / base, 3) if ours is not None and base else None


def _per_lifecycle(kind: str, bound: dict[str, Any], traffic: dict[str, Any]) -> float | None:
    rate = bound.get("per_second")
    if rate is None:
        return None
    divisor = {"ingress": traffic.get("webhooks_per_lifecycle"), "broker": traffic.get("broker_messages_per_lifecycle")}
    return round(float(rate) / float(divisor.get(kind) or 1.0), 2)


def combine(args: argparse.Namespace, system: dict[str, Any], bounds: dict[str, Any], started: float) -> dict[str, Any]:
    traffic = system.get("traffic", {})
    levels = []
    for i, level in enumerate(system["levels"]):
        comparisons = {}
        for kind, results in bounds.items():
            # the app and broker bounds ran twice a level: at its load, then at the system's rate
            paired = kind != "database"
            bound = (results[2 * i] if paired else results[i]) if len(results) > i else {}
            matched = results[2 * i + 1] if paired and len(results) > 2 * i + 1 else bound
            ours_key, base_key = LATENCY_PAIRS[kind]
            ours_lat, base_lat = level["latency"].get(ours_key, {}), matched.get(base_key, {})
            lifecycles = _per_lifecycle(kind, bound, traffic)
            comparisons[kind] = {
                "bound_per_second": bound.get("per_second"),
                "bound_lifecycles_per_second": lifecycles,
                "throughput_ratio": _ratio(level["settled_per_second"], lifecycles),
                "latency_stage": ours_key,
                **{
                    f"{p}_ratio": _ratio(ours_lat.get(f"{p}_ms"), base_lat.get(f"{p}_ms"))
                    for p in ("p50", "p95", "p99")
                },
                "bound": bound,
                "bound_at_system_rate": matched if paired else None,
            }
        levels.append({**level, "baselines": comparisons})
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "system": {k: v for k, v in system.items() if k != "levels"},
        "levels": levels,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(result: dict[str, Any]) -> str:
    lines = []
    for level in result["levels"]:
        lines.append(
            f"\n== {level['load']}: {level['settled_per_second']} settled lifecycles/s "
            f"({level['settled']} of {level['lifecycles']}, errors {sum(level['errors'].values())}) =="
        )
        lines.append(f"{'stage':<38} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'n':>6}")
        for key, label in STAGES.items():
            s = level["latency"].get(key, {})
            lines.append(
                f"{label:<38} {_ms(s.get('p50_ms')):>8} {_ms(s.get('p95_ms')):>8} {_ms(s.get('p99_ms')):>8} "
                f"{s.get('n', 0):>6}"
            )
        if level.get("baselines"):
            lines.append(
                f"{'bound':<10} {'its /s':>9} {'lc/s':>8} {'ours/bound':>10}  {'latency vs':<34} {'p50':>6} {'p99':>6}"
            )
            for kind, c in level["baselines"].items():
                lines.append(
                    f"{kind:<10} {c['bound_per_second'] or '-':>9} {c['bound_lifecycles_per_second'] or '-':>8} "
                    f"{c['throughput_ratio'] or '-':>10}  {STAGES[c['latency_stage']]:<34} "
                    f"{c['p50_ratio'] or '-':>6} {c['p99_ratio'] or '-':>6}"
                )
        cpu = ", ".join(f"{k} {v}" for k, v in level["cpu_ms_per_lifecycle"].items())
        lines.append(f"CPU ms per lifecycle: {cpu}")
    system = result["system"]
    c, t = system.get("correctness", {}), system.get("traffic", {})
    lines.append(
        f"\nwebhooks per lifecycle {t.get('webhooks_per_lifecycle')} (duplicate events {t.get('duplicate_events')}),"
        f" broker messages per lifecycle {t.get('broker_messages_per_lifecycle')}"
    )
    lines.append(
        f"correctness: {'ok' if c.get('ok') else 'FAILED'}: not settled {c.get('not_settled')}, "
        f"PAID without exactly one SUCCESS {c.get('paid_without_one_success')}, lost {c.get('lost')}, "
        f"applied twice {c.get('applied_twice')}, invariant violations "
        f"{c.get('invariants', {}).get('violations')}"
    )
    lines.append(f"peak RSS MiB: {system.get('peak_rss_mb')}")
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = sorted(result["levels"], key=lambda lv: lv["x"])
    xs = [lv["x"] for lv in levels]
    closed = levels and levels[0]["load"].startswith("concurrency")
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    left.plot(xs, [lv["settled_per_second"] for lv in levels], "o-", linewidth=2, label="system (settled lifecycles/s)")
    for kind in ("database", "ingress", "broker", "orders"):
        ys = [lv.get("baselines", {}).get(kind, {}).get("bound_lifecycles_per_second") for lv in levels]
        if any(y is not None for y in ys):
            left.plot(xs, [y if y is not None else float("nan") for y in ys], "s--", label=f"{kind} bound")
    left.set_yscale("log")
    left.set_xlabel("concurrency (lifecycles in flight)" if closed else "offered lifecycles/s")
    left.set_ylabel("lifecycles/s (log)")
    left.set_title("Throughput against its bounds")
    left.legend(fontsize=8)
    styles = {"p50_ms": "-", "p95_ms": "--", "p99_ms": ":"}
    for key, colour in zip(
        ("post_orders", "post_payments_initiate", "webhook_due_to_answered", "webhook_accepted_to_paid"),
        ("C0", "C1", "C2", "C3"),
        strict=True,
    ):
        for pct, style in styles.items():
            ys = [lv["latency"].get(key, {}).get(pct) for lv in levels]
            right.plot(
                xs,
                [y if y is not None else float("nan") for y in ys],
                style,
                color=colour,
                marker="o",
                label=f"{STAGES[key]} {pct[:3]}",
            )
    right.set_yscale("log")
    right.set_xlabel(left.get_xlabel())
    right.set_ylabel("ms (log)")
    right.set_title("Latency percentiles (p50 solid, p95 dashed, p99 dotted)")
    right.legend(fontsize=6, ncol=2)
    figure.suptitle(f"make bench, {result['when']}, {result['machine']['cpus']} CPUs")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
