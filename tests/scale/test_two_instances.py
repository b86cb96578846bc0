"""Two instances of every service behind the balancer, under load (`make scale`: `payments-stack exec
--scale 2` on its own database and vhost, payments_scale).

In order, each on its own payments (their receipts carry the phase, as in the chaos run):
1. a few hundred payments at concurrency 32 through the balanced client API: every one settles as the
   gateway decided, no webhook event is applied twice or lost, the outbox rows the relays of both
   instances report published are exactly the rows the database marks published (a row published by
   both would count twice), no event reaches an order-svc consumer twice, and both instances of each
   service did part of the work (printed);
2. the same while one instance of each service is killed with `kill -9` mid-run: nothing lost, nothing
   applied twice;
3. one API key pressed at four times its per-key limit of N/s through the balancer, both instances
   answering it: about N/s are let through (plus the burst), not 2N.

The invariants are the chaos run's (tests/chaos/invariants.py), read the same way (tests/chaos/observe.py).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest

# the chaos run's helpers are imported from the repository root, as the unit tests of them do
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from order_svc.settings import SCHEMA as ORDERS_SCHEMA
from payment_svc.settings import SCHEMA as PAYMENTS_SCHEMA
from payments_common.config import parse_api_keys
from payments_tools.stack import SERVICES
from payments_tools.stack_scale import Instance, balanced, plan
from tests.chaos import faults, invariants, observe
from tests.chaos.load import Client, LoadStats, Started, phase_prefix, run_load
from tests.chaos.runner import catch_up
from tests.scale import instances as metrics

PAYMENTS = int(os.environ.get("SCALE_PAYMENTS", "300"))
KILL_PAYMENTS = int(os.environ.get("SCALE_KILL_PAYMENTS", "200"))
CONCURRENCY = 32
# payments started per second at most; the per-key limit paces the load below this
OFFERED_RATE = 100.0
SEED = 15
SETTLE_TIMEOUT = 180.0
# the share of the kill phase's orders created before the kills
KILL_AT = 0.3
# the limit phase: how long, and how many times the limit it offers
LIMIT_SECONDS = 6.0
LIMIT_PRESSURE = 4
# outbox rows by the service whose relay publishes them
OUTBOX_SCHEMAS = {"order-svc": ORDERS_SCHEMA, "payment-svc": PAYMENTS_SCHEMA}
# order-svc's consumers take only what payment-svc's outbox publishes: a duplicate there is a row published
# twice (payment-svc's webhook consumer also sees the gateway's own repeated webhooks, so it is not one)
OUTBOX_FED = "order-svc"
FINAL_PAYMENT_STATUSES = frozenset({"SUCCESS", "FAILED"})


@dataclass(frozen=True, slots=True)
class System:
    api_url: str
    dsn: str
    vhost: str
    keys: list[tuple[str, str]]
    instances: list[Instance]
    run_dir: Path
    rate: float
    burst: int

    def of(self, service: str) -> list[Instance]:
        return [i for i in self.instances if i.service == service]

    def balanced(self) -> dict[str, list[Instance]]:
        return balanced(self.instances)


@pytest.fixture(scope="module")
def system() -> System:
    scale = int(os.environ.get("PAYMENTS_SCALE", "1"))
    if scale < 2 or not os.environ.get("API_URL"):
        pytest.skip("needs the system at --scale 2: run it through `make scale`")
    if "API_RATE_PER_SECOND" not in os.environ:
        pytest.fail("API_RATE_PER_SECOND is not set: `make scale` sets a low per-key limit for the limit's test")
    amqp = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    keys = [(k.key_id, k.secret.get_secret_value()) for k in parse_api_keys(os.environ["API_KEYS"]).values()]
    return System(
        api_url=os.environ["API_URL"].rstrip("/"),
        dsn=os.environ["DATABASE_URL"],
        vhost=urlsplit(amqp).path.lstrip("/") or "/",
        keys=keys,
        instances=plan(os.environ, SERVICES, scale),
        run_dir=Path(os.environ.get("PAYMENTS_RUN_DIR", ".run")),
        rate=float(os.environ["API_RATE_PER_SECOND"]),
        burst=int(os.environ.get("API_RATE_BURST", "400")),
    )


class PatientClient(Client):
    """The chaos load's client, which also waits out the per-key limit's 429s: a refused request did
    nothing, so it is simply sent again."""

    limited = 0

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, started: Started | None = None
    ) -> tuple[int, dict[str, Any]]:
        while True:
            status, answer = await super().request(method, path, body, started)
            if status != 429:
                return status, answer
            PatientClient.limited += 1
            await asyncio.sleep(random.uniform(0.1, 0.4))


async def load(system: System, phase: int, count: int) -> LoadStats:
    async with PatientClient(system.api_url, system.keys[0]) as client:
        stats = await run_load(client, phase, count, rate=OFFERED_RATE, concurrency=CONCURRENCY, seed=SEED)
        await catch_up(client, system.dsn, phase, stats)
    return stats


async def settle(system: System, phase: int) -> None:
    settled = await observe.wait_settled(
        system.dsn, system.vhost, SETTLE_TIMEOUT, progress=lambda left: print(f"phase {phase}: settling: {left}")
    )
    assert settled.ok, f"phase {phase}: not settled after {settled.seconds:.0f} s: {settled.remaining}"
    print(f"phase {phase}: settled {settled.seconds:.1f} s after the load")


async def judge(system: System, phase: int, stats: LoadStats) -> invariants.Verdict:
    """The chaos run's invariants over this phase's orders; every attempt settled SUCCESS or FAILED."""
    sources = observe.Sources(log_dir=system.run_dir / "logs", vhost=system.vhost)
    snapshot = await observe.read_snapshot(system.dsn, sources)
    prefix = phase_prefix(phase)
    scope = {o.id for o in snapshot.orders if (o.receipt or "").startswith(prefix)}
    verdict = invariants.check(snapshot, scope, global_checks=False)
    orders = Counter(o.status for o in snapshot.orders if o.id in scope)
    attempts = Counter(p.status for p in snapshot.payments if p.order_id in scope)
    print(
        f"phase {phase}: {len(scope)} orders {dict(orders)}, {verdict.payments} attempts {dict(attempts)}; "
        f"webhooks accepted {verdict.accepted}, applied {verdict.applied}, lost {len(verdict.lost)}, "
        f"applied twice {len(verdict.applied_twice)}; gateway compared {verdict.gateway_compared}, "
        f"disagreed {verdict.gateway_disagreed}"
    )
    assert not stats.gave_up(), [f"{s.receipt}: {s.outcome}" for s in stats.gave_up()][:10]
    assert verdict.complete, verdict.not_run
    assert verdict.lost == [], verdict.lost[:10]
    assert verdict.applied_twice == [], verdict.applied_twice[:10]
    assert verdict.ok, [str(v) for v in verdict.violations[:10]]
    # every order of the phase got its attempt: an order created twice (its first answer lost to a kill)
    # was given one by the catch-up, as in the chaos run
    assert verdict.orders_with_attempts == len(scope) >= len({s.receipt for s in stats.started})
    assert set(attempts) <= FINAL_PAYMENT_STATUSES, attempts
    return verdict


def split_line(what: str, counts: dict[str, float]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{name} {n:.0f} ({n / total:.0%})" if total else f"{name} 0" for name, n in counts.items())
    return f"  {what:<38} {parts}"


async def console_pages(system: System, count: int) -> None:
    """The console has no part in the load: a few sign-in pages through the balancer give it work to share."""
    port = system.of("payments-console")[0].public_port
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            async with session.get(f"http://127.0.0.1:{port}/login") as response:
                assert response.status == 200


async def test_work_shared_nothing_twice(system: System) -> None:
    await settle(system, 0)
    scaled = [i for group in system.balanced().values() for i in group]
    before = await metrics.read_all(scaled)
    rows_before = await metrics.published_rows(system.dsn, OUTBOX_SCHEMAS.values())

    t0 = time.monotonic()
    stats = await load(system, 1, PAYMENTS)
    await console_pages(system, 20)
    print(
        f"phase 1: {len(stats.started)} payments started in {time.monotonic() - t0:.1f} s at concurrency "
        f"{CONCURRENCY} ({PatientClient.limited} calls waited out the per-key limit)"
    )
    await settle(system, 1)
    after = await metrics.read_all(scaled)
    rows_after = await metrics.published_rows(system.dsn, OUTBOX_SCHEMAS.values())
    await judge(system, 1, stats)

    requests = metrics.delta(before, after, "http_requests_total", metrics.work)
    consumed = metrics.delta(before, after, "events_consumed_total", lambda _: True)
    published = metrics.delta(before, after, "outbox_published_total", lambda _: True)
    duplicates = metrics.delta(before, after, "inbox_duplicates_total", lambda _: True)
    print("phase 1: the split between instances")
    kinds = {"HTTP requests": requests, "messages consumed": consumed, "outbox rows relayed": published}
    for service, group in system.balanced().items():
        names = [i.name for i in group]
        shares = {kind: {n: counts[n] for n in names} for kind, counts in kinds.items()}
        done = {kind: share for kind, share in shares.items() if sum(share.values())}
        for kind, share in done.items():
            print(split_line(f"{service} {kind}", share))
        # the service had work in the run, and each instance took part of each kind of it: the balancer
        # spreads the requests, the queues the messages, SKIP LOCKED the outbox rows
        assert done, (service, shares)
        for kind, share in done.items():
            assert all(n > 0 for n in share.values()), (service, kind, share)
    # the load's own path: both instances of order-svc and payment-svc consume and answer
    for service in ("order-svc", "payment-svc"):
        assert all(requests[i.name] > 0 and consumed[i.name] > 0 for i in system.of(service)), service

    for service, schema in OUTBOX_SCHEMAS.items():
        reported = sum(published[i.name] for i in system.of(service))
        marked = rows_after[schema] - rows_before[schema]
        print(f"  {schema}.outbox: {marked} rows published, the relays reported {reported:.0f}")
        # a row both relays published would be reported by both and marked once
        assert reported == marked, (schema, reported, marked)
    payment_relays = [published[i.name] for i in system.of("payment-svc")]
    assert all(n > 0 for n in payment_relays), payment_relays
    twice = {i.name: duplicates[i.name] for i in system.of(OUTBOX_FED)}
    print(f"  {OUTBOX_FED} messages seen twice: {twice}")
    assert sum(twice.values()) == 0, twice


async def phase_orders(dsn: str, phase: int) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM orders.orders WHERE receipt LIKE $1 || '%'", phase_prefix(phase))
        )
    finally:
        await conn.close()


async def test_kill9_one_instance_of_each_loses_nothing(system: System) -> None:
    ctx = faults.Context(
        run_dir=system.run_dir,
        vhost=system.vhost,
        ports={i.name: i.port for i in system.instances},
        log=lambda line: print(f"phase 2: {line}"),
    )
    victims = [group[0].name for group in system.balanced().values()]
    load_task = asyncio.create_task(load(system, 2, KILL_PAYMENTS))
    while await phase_orders(system.dsn, 2) < KILL_AT * KILL_PAYMENTS:
        assert not load_task.done(), "the load finished before the kills"
        await asyncio.sleep(0.2)
    notes = await asyncio.gather(*(faults.kill9(name)(ctx) for name in victims))
    for note in notes:
        print(f"phase 2: {note}")
    stats = await load_task
    print(f"phase 2: {len(stats.started)} payments started, {stats.retries} calls retried through the kills")
    await settle(system, 2)
    await judge(system, 2, stats)
    # the database is this run's own: the whole of it, with the queues, the outboxes and the dead letters
    snapshot = await observe.read_snapshot(system.dsn, observe.Sources(system.run_dir / "logs", system.vhost))
    whole = invariants.check(snapshot, global_checks=True)
    print(
        f"both phases: {whole.orders} orders, lost {len(whole.lost)}, applied twice {len(whole.applied_twice)}, "
        f"outboxes {snapshot.outbox_backlog}, problems {[str(v) for v in whole.violations[:5]]}"
    )
    assert whole.ok and whole.complete, ([str(v) for v in whole.violations[:10]], whole.not_run)


async def press(url: str, key: tuple[str, str], per_second: float, seconds: float) -> list[int]:
    """GET `url` at `per_second` for `seconds`, open loop; each answer's status."""
    statuses: list[int] = []
    headers = {"Authorization": aiohttp.encode_basic_auth(*key)}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=15)) as session:

        async def one(at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            async with session.get(url) as response:
                await response.read()
                statuses.append(response.status)

        t0 = time.monotonic()
        await asyncio.gather(*(one(t0 + n / per_second) for n in range(int(per_second * seconds))))
    return statuses


async def test_per_key_limit_holds_across_instances(system: System) -> None:
    order_svc = system.of("order-svc")
    before = await metrics.read_all(order_svc)
    # the second merchant's key, untouched by the load: its bucket is full
    statuses = await press(
        f"{system.api_url}/orders/order_limitprobe", system.keys[1], LIMIT_PRESSURE * system.rate, LIMIT_SECONDS
    )
    after = await metrics.read_all(order_svc)
    answered = Counter(statuses)
    let_through = len(statuses) - answered[429]
    one_limit = system.burst + system.rate * LIMIT_SECONDS
    print(
        f"limit: {len(statuses)} requests in {LIMIT_SECONDS:.0f} s at {LIMIT_PRESSURE * system.rate:.0f}/s on one key "
        f"(limit {system.rate:.0f}/s, burst {system.burst}): {dict(answered)}; let through {let_through} "
        f"= {(let_through - system.burst) / LIMIT_SECONDS:.1f}/s beyond the burst; one shared limit allows "
        f"{one_limit:.0f}, two separate ones {2 * one_limit:.0f}"
    )
    through = metrics.delta(before, after, "http_requests_total", lambda labels: labels.get("status") == "404")
    refused = metrics.delta(before, after, "http_requests_total", lambda labels: labels.get("status") == "429")
    print(split_line("let through, by instance", through))
    print(split_line("refused, by instance", refused))
    assert set(answered) <= {404, 429}, answered
    # both instances answered the key, and each refused it once the shared bucket was empty
    assert all(n > 0 for n in through.values()) and all(n > 0 for n in refused.values()), (through, refused)
    # one limit for the system: about N/s, well short of the 2N two separate buckets would let through
    assert let_through <= 1.25 * one_limit, (let_through, one_limit)
    assert let_through >= 0.75 * one_limit, (let_through, one_limit)
