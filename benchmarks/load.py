"""The one load generator every measurement uses: N operations, closed loop (a fixed number in flight)
or open loop (each started at its scheduled time, whatever the others are doing), with a progress bar.

`drive` only schedules and counts; each operation records its own latencies. Percentiles are nearest
rank, as in `webhook_flood.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# open loop: more operations in flight than this and the generator, not the target, is the bottleneck
MAX_IN_FLIGHT = 4096


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values_ms: list[float]) -> dict[str, Any]:
    """Count, p50/p95/p99 and max of latencies in milliseconds; None for each when there are none."""
    if not values_ms:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "n": len(values_ms),
        **{f"p{p}_ms": round(percentile(values_ms, p), 2) for p in (50, 95, 99)},
        "max_ms": round(max(values_ms), 2),
    }


@dataclass(frozen=True, slots=True)
class Load:
    """How operations are offered: `concurrency` in flight (closed loop), or `rate` a second (open)."""

    concurrency: int | None = None
    rate: float | None = None

    def __post_init__(self) -> None:
        if (self.concurrency is None) == (self.rate is None):
            raise ValueError("a load is either a concurrency or a rate")

    @property
    def label(self) -> str:
        return f"concurrency {self.concurrency}" if self.concurrency is not None else f"rate {self.rate:g}/s"

    @property
    def x(self) -> float:
        """The chart's x value: the concurrency, or the offered rate."""
        return float(self.concurrency if self.concurrency is not None else self.rate or 0.0)


class Progress:
    """A one-line progress bar on stderr (a line per tenth when stderr is not a terminal)."""

    def __init__(self, total: int, label: str, *, enabled: bool = True, width: int = 30) -> None:
        self.total, self.label, self.enabled, self.width = total, label, enabled, width
        self.done = 0
        self.started = time.monotonic()
        self._tty = sys.stderr.isatty()
        self._last_tenth = -1
        self._last_draw = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        tenth = self.done * 10 // max(self.total, 1)
        if self._tty and (now - self._last_draw > 0.1 or self.done >= self.total):
            self._last_draw = now
            sys.stderr.write("\r" + self.line(now))
            sys.stderr.flush()
        elif not self._tty and tenth != self._last_tenth:
            self._last_tenth = tenth
            sys.stderr.write(self.line(now) + "\n")

    def line(self, now: float) -> str:
        fraction = self.done / max(self.total, 1)
        filled = round(fraction * self.width)
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * filled + "." * (self.width - filled)
        return f"  {self.label:<28} [{bar}] {self.done}/{self.total} {rate:7.1f}/s eta {eta:4.0f}s"

    def close(self) -> None:
        if self.enabled and self._tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


@dataclass(slots=True)
class Outcome:
    """What `drive` saw: wall time from the first start to the last completion, errors by kind."""

    started: float = 0.0
    elapsed: float = 0.0
    completed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    # open loop: starts that were later than scheduled by more than 10 ms (the generator fell behind)
    late_starts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "elapsed_s": round(self.elapsed, 3),
            "completed": self.completed,
            "errors": dict(self.errors),
            "late_starts": self.late_starts,
        }


async def drive(n: int, op: Callable[[int], Awaitable[None]], load: Load, progress: Progress | None = None) -> Outcome:
    """Run op(0) … op(n-1) under `load`. An exception of an operation is counted by its type and message
    head, never raised: a benchmark reports errors, it does not stop at the first."""
    with collector_paused():
        return await _drive(n, op, load, progress)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in the load generator while it measures: a full collection of its
    heap (aiohttp's, the results') pauses it for tens of milliseconds, and every request in flight
    then looks that much slower than the system answered it. The garbage waits for the run's end."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
        gc.collect()


async def _drive(n: int, op: Callable[[int], Awaitable[None]], load: Load, progress: Progress | None) -> Outcome:
    outcome = Outcome(started=time.monotonic())

    async def run(i: int) -> None:
        try:
            await op(i)
            outcome.completed += 1
        except Exception as exc:  # every failure is a result here
            outcome.errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
        finally:
            if progress is not None:
                progress.advance()

    if load.concurrency is not None:
        indices = iter(range(n))

        async def worker() -> None:
            for i in indices:
                await run(i)

        await asyncio.gather(*(worker() for _ in range(min(load.concurrency, n))))
    else:
        rate = float(load.rate or 1.0)
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)
        start = time.monotonic() + 0.01

        async def started(i: int, due: float) -> None:
            async with gate:
                if time.monotonic() - due > 0.01:
                    outcome.late_starts += 1
                await run(i)

        # each request's task made when it falls due, not all n up front: creating thousands of sleeping
        # tasks at once kept the generator busy just as the first requests went out, and those (and the
        # burst sent once it was free) measured the generator, not the system
        in_flight: set[asyncio.Task[None]] = set()
        for i in range(n):
            due = start + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            task = asyncio.create_task(started(i, due))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)
    outcome.elapsed = time.monotonic() - outcome.started
    if progress is not None:
        progress.close()
    return outcome
