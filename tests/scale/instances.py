"""Each instance's own counters, read from its /metrics on its own port (not through the balancer), so
the work of one instance is told from the other's; and the database's count of published outbox rows.

Counters start at zero when a process starts: a difference of two readings is the work done between
them, as long as neither instance restarted in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from payments_tools.stack_scale import Instance

# answered to the balancer's health checks and to scrapes: not work
PROBE_ROUTES = frozenset({"/readyz", "/healthz", "/health", "/metrics"})

Labels = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Reading:
    """One instance's samples at one moment."""

    instance: Instance
    samples: tuple[Sample, ...]

    def total(self, name: str, where: Callable[[Labels], bool] = lambda _: True) -> float:
        return sum(s.value for s in self.samples if s.name == name and where(s.labels))


def parse(text: str) -> tuple[Sample, ...]:
    return tuple(
        Sample(sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    )


async def read(session: aiohttp.ClientSession, instance: Instance) -> Reading:
    async with session.get(f"http://127.0.0.1:{instance.port}/metrics") as response:
        response.raise_for_status()
        return Reading(instance, parse(await response.text()))


async def read_all(instances: Iterable[Instance]) -> dict[str, Reading]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        readings = await asyncio.gather(*(read(session, i) for i in instances))
    return {r.instance.name: r for r in readings}


def work(labels: Labels) -> bool:
    return labels.get("route") not in PROBE_ROUTES


def delta(
    before: Mapping[str, Reading], after: Mapping[str, Reading], name: str, where: Callable[[Labels], bool]
) -> dict[str, float]:
    """Per instance: how much the counter `name` (its samples matching `where`) grew between the readings."""
    return {key: after[key].total(name, where) - before[key].total(name, where) for key in after}


async def published_rows(dsn: str, schemas: Iterable[str]) -> dict[str, int]:
    """Per schema: outbox rows marked published."""
    conn = await asyncpg.connect(dsn)
    try:
        return {
            schema: int(await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NOT NULL'))
            for schema in schemas
        }
    finally:
        await conn.close()
