"""The benchmark's pure parts: percentiles, the load generator's two modes, the method mix, the
baseline ingress's signature check."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.baseline_apps import verified
from benchmarks.baselines import signed_webhook
from benchmarks.components import consumer_paused
from benchmarks.lifecycle import method_for
from benchmarks.load import Load, drive, percentile, summary


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert summary([])["p50_ms"] is None
    assert summary([3.0, 1.0, 2.0])["max_ms"] == 3.0


def test_a_load_is_a_concurrency_or_a_rate() -> None:
    with pytest.raises(ValueError):
        Load()
    with pytest.raises(ValueError):
        Load(concurrency=1, rate=1.0)


async def test_closed_loop_keeps_the_concurrency_and_counts_errors() -> None:
    in_flight, peak = 0, 0

    async def op(i: int) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        if i % 10 == 0:
            raise RuntimeError("boom")

    outcome = await drive(50, op, Load(concurrency=4))
    assert peak == 4
    assert outcome.completed == 45
    assert outcome.errors == {"RuntimeError: boom": 5}


async def test_open_loop_starts_on_schedule() -> None:
    async def op(i: int) -> None:
        await asyncio.sleep(0)

    outcome = await drive(20, op, Load(rate=200.0))
    assert outcome.completed == 20
    assert 0.09 <= outcome.elapsed < 1.0


def test_the_method_mix_declines_its_share_across_every_method_type() -> None:
    picks = [method_for(i, 0.2) for i in range(100)]
    assert sum(expected == "FAILED" for _, expected in picks) == 20
    for status in ("PAID", "FAILED"):
        assert {m["type"] for m, expected in picks if expected == status} == {"card", "upi", "wallet", "netbanking"}


def test_the_baseline_ingress_verifies_as_the_gateway_signs() -> None:
    key = os.urandom(32)
    body, headers = signed_webhook(key, 350)
    assert len(body) >= 350
    assert verified([key], headers, body)
    assert not verified([os.urandom(32)], headers, body)
    assert not verified([key], headers, body + b" ")
    assert not verified([key], {**headers, "webhook-timestamp": "1"}, body)


async def test_the_load_generator_collects_no_garbage_while_it_measures() -> None:
    seen: list[bool] = []

    async def op(_: int) -> None:
        seen.append(gc.isenabled())

    assert gc.isenabled()
    await drive(5, op, Load(concurrency=2))
    assert seen == [False] * 5
    # and afterwards as before: enabled, nothing left frozen
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_paused_consumer_is_stopped_and_then_continued() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with consumer_paused(child.pid):
            assert _reaches(child.pid, {"T"})  # stopped
        assert _reaches(child.pid, {"S", "R"})  # running again (asleep in its sleep)
    finally:
        child.kill()
        child.wait()


def _reaches(pid: int, states: set[str]) -> bool:
    """Whether the process's state (/proc/<pid>/stat: "pid (comm) state ...") becomes one of `states`
    within 2 s: a signal is delivered promptly, not the instant kill() returns."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in states:
            return True
        time.sleep(0.01)
    return False
