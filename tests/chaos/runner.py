"""`make chaos`: run the whole system, put payments in flight, inject faults, count what was lost.

Each phase starts its own batch of payments, injects one fault while they are in flight, waits until
the system is quiet again, and checks the invariants (tests/chaos/invariants.py) on that phase's
orders. After the last phase the whole run is checked once more, including the queues, the outboxes
and the dead-letter queues. The table is printed and written to `.run/chaos/report.json`; the exit
status is non-zero when an invariant fails, the system does not settle, a fault could not be
injected, or a check could not run.

The system runs on its own database (`payments_chaos`, dropped and created again) and its own
RabbitMQ vhost (`payments_chaos`, deleted and created again), with fresh secrets, on the usual
ports. The PostgreSQL and RabbitMQ faults restart the machine's servers, so anything else using them
(a dev stack, a test run) sees them go down too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from payments_common.config import parse_api_keys, parse_webhook_secrets
from payments_common.db import ensure_database
from payments_tools.localenv import generate_secrets
from payments_tools.migrate_cli import migrate_all
from payments_tools.stack import SERVICES, Stack, port_free

from . import faults, invariants, observe
from .load import Client, LoadStats, Started, phase_prefix, run_load
from .poison import DLQ, Harness, PoisonResult, poison
from .report import PhaseRow, format_table, phase_row, skipped_row

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "payments_chaos"
VHOST = "payments_chaos"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
LOG_DIR = Path(".run/chaos-logs")
PREVIOUS_LOG_DIR = Path(".run/chaos-logs.previous")
REPORT = Path(".run/chaos/report.json")

# what the services run with during the chaos run: short retry tiers and reconciliation thresholds
# so that everything settles within the run, and the mock gateway's faults on
CHAOS_SETTINGS = {
    "RETRY_DELAYS_MS": "200,500,1000,2000",
    "RECONCILE_INTERVAL_SECONDS": "2",
    "RECONCILE_AFTER_SECONDS": "5",
    "PAYMENT_EXPIRY_SECONDS": "15",
    "ORDER_CONFIRM_AFTER_SECONDS": "10",
    "MOCK_GATEWAY_FAULTS": "duplicate=0.3,reorder=0.2,delay=0.1,timeout=0.1,late_success=0.05",
    "MOCK_GATEWAY_FAULT_DELAY_MS": "1500",
    "LOG_LEVEL": "INFO",
}


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    key: str
    title: str
    fault: faults.Fault | None
    poison: bool = False


def phases(hold_seconds: float) -> list[PhaseSpec]:
    return [
        *(PhaseSpec(f"kill-{s.name}", f"kill -9 {s.name}", faults.kill9(s.name)) for s in SERVICES),
        PhaseSpec("rabbitmq-restart", "RabbitMQ restart", faults.restart_rabbitmq),
        PhaseSpec("postgres-restart", "PostgreSQL restart", faults.restart_postgres),
        PhaseSpec("close-connections", "broker connections closed", faults.close_broker_connections),
        PhaseSpec(
            "webhook-gateway-down",
            f"webhook-gateway down {hold_seconds:.0f} s",
            faults.hold_down("webhook-gateway", hold_seconds),
        ),
        PhaseSpec("poison", "poison event: DLQ, fix, requeue", None, poison=True),
    ]


@dataclass(slots=True)
class Options:
    payments: int = 1000
    faults: list[str] = field(default_factory=list)
    rate: float = 15.0
    concurrency: int = 12
    seed: int = 1
    fault_at: float = 0.3
    hold_seconds: float = 10.0
    settle_timeout: float = 120.0
    # run the remaining phases even after one left the system unsettled
    keep_going: bool = False


class Clock:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.t0:7.1f}s] {message}", flush=True)


def split(total: int, parts: int) -> list[int]:
    """`total` as `parts` near-equal counts, the larger ones first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def preflight(ports: dict[str, int]) -> list[str]:
    problems = []
    busy = [f"{name} :{port}" for name, port in ports.items() if not port_free(port)]
    if busy:
        problems.append(
            "ports in use: "
            + ", ".join(busy)
            + ". Stop the dev stack (`make run`) or a test run (`make system`) first."
        )
    for tool in ("rabbitmqctl", "rabbitmq-server", "pg_ctlcluster", "pg_isready"):
        if shutil.which(tool) is None:
            problems.append(f"{tool} is not on PATH: the faults need it")
    return problems


async def reset_database(dsn: str) -> None:
    async with observe.connection(PG_ADMIN_DSN) as conn:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await ensure_database(dsn)


async def reset_vhost() -> None:
    await observe.rabbitmqctl("delete_vhost", VHOST)
    for args in (("add_vhost", VHOST), ("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")):
        code, out = await observe.rabbitmqctl(*args)
        if code != 0:
            raise SystemExit(f"chaos: rabbitmqctl {' '.join(args)} failed: {out.strip()[-300:]}")


async def catch_up(client: Client, dsn: str, phase: int, stats: LoadStats) -> int:
    """Start a payment for each order of the phase that has none: its creation answer was lost to the
    fault and the load created it again, or its initiate never got an answer."""
    vpa_of = {s.receipt: s.vpa for s in stats.started}
    async with observe.connection(dsn) as conn:
        rows = await conn.fetch(
            """SELECT o.id, o.receipt FROM orders.orders o
                WHERE o.receipt LIKE $1 || '%' AND o.status = 'CREATED'
                  AND NOT EXISTS (SELECT 1 FROM payments.payments p WHERE p.order_id = o.id)""",
            phase_prefix(phase),
        )
    # only the load's own orders: the poison event's order is the harness's business
    extra = [Started(r["receipt"], vpa_of[r["receipt"]], order_id=r["id"]) for r in rows if r["receipt"] in vpa_of]
    await asyncio.gather(*(client.initiate(s) for s in extra), return_exceptions=True)
    stats.started += extra
    return len(extra)


@dataclass(slots=True)
class PhaseOutcome:
    row: PhaseRow
    verdict: invariants.Verdict | None
    fault_note: str
    load: dict[str, Any]
    poison: PoisonResult | None


class Run:
    def __init__(self, options: Options, clock: Clock) -> None:
        self.o = options
        self.clock = clock
        self.dsn = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
        self.env = {
            **generate_secrets(),
            "DATABASE_URL": self.dsn,
            "AMQP_URL": f"amqp://guest:guest@127.0.0.1:5672/{VHOST}",
            "ADMIN_TOKEN": secrets.token_urlsafe(24),
            "MOCK_GATEWAY_FAULT_SEED": str(options.seed),
            **CHAOS_SETTINGS,
        }
        self.ports = faults.service_ports(self.env)
        key = next(iter(parse_api_keys(self.env["API_KEYS"]).values()))
        self.key = (key.key_id, key.secret.get_secret_value())
        self.sources = observe.Sources(log_dir=LOG_DIR, vhost=VHOST)
        self.ctx = faults.Context(run_dir=Path(".run"), vhost=VHOST, ports=self.ports, log=clock.log)
        self.supervisor: asyncio.Task[str] | None = None
        # orders the harness broke on purpose and left broken (a poison event not requeued)
        self.set_aside: set[str] = set()

    def harness(self, client: Client) -> Harness:
        return Harness(
            client=client,
            webhook_url=f"http://127.0.0.1:{self.ports['webhook-gateway']}/webhook/payment",
            merchant_id=self.key[0],
            payment_secret=self.env["PAYMENT_SIGNING_SECRET"].encode(),
            webhook_key=parse_webhook_secrets(self.env["WEBHOOK_SECRETS"])[0],
            dsn=self.dsn,
            admin=ROOT / ".venv" / "bin" / "payments-admin",
            env=self.env,
            log=self.clock.log,
        )

    def supervisor_gave_up(self) -> str | None:
        if self.supervisor is not None and self.supervisor.done() and not self.supervisor.cancelled():
            return self.supervisor.result() or None
        return None

    async def phase(self, number: int, spec: PhaseSpec, count: int, client: Client) -> PhaseOutcome:
        log = self.clock.log
        log(f"phase {number} ({spec.key}): {spec.title}; {count} payments going in")
        load = asyncio.create_task(
            run_load(client, number, count, rate=self.o.rate, concurrency=self.o.concurrency, seed=self.o.seed)
        )
        await asyncio.sleep(self.o.fault_at * count / self.o.rate)
        fault_note = ""
        problems: list[str] = []
        result: PoisonResult | None = None
        if spec.fault is not None:
            log(f"phase {number}: injecting fault: {spec.title}")
            try:
                fault_note = await spec.fault(self.ctx)
                log(f"phase {number}: fault over: {fault_note}")
            except Exception as exc:  # a fault that could not be injected fails the phase, not the run
                fault_note = f"FAULT FAILED: {type(exc).__name__}: {exc}"
                problems.append(fault_note)
                log(f"phase {number}: {fault_note}")
        if spec.poison:
            log(f"phase {number}: sending the poison event")
            result = await poison(self.harness(client), phase_prefix(number) + "poison")
            fault_note = f"poison event {result.event_id}"
            self._account_poison(result)
        stats = await load
        extra = await catch_up(client, self.dsn, number, stats)
        gave_up = stats.gave_up()
        log(
            f"phase {number}: load done: {stats.with_attempt} payments started, {stats.retries} retried calls"
            + (f", {extra} orders caught up" if extra else "")
            + (f", {len(gave_up)} gave up" if gave_up else "")
        )
        settled = await observe.wait_settled(
            self.dsn,
            VHOST,
            self.o.settle_timeout,
            progress=lambda left: log(f"phase {number}: still settling: {_brief(left)}"),
        )
        if settled.ok:
            log(f"phase {number}: settled in {settled.seconds:.1f} s")
        else:
            log(f"phase {number}: NOT SETTLED after {settled.seconds:.0f} s: {_brief(settled.remaining)}")
            problems.append(f"not settled after {settled.seconds:.0f} s: {_brief(settled.remaining)}")
        if gone := self.supervisor_gave_up():
            problems.append(f"the stack gave up restarting {gone}")

        snapshot = await observe.read_snapshot(self.dsn, self.sources)
        prefix = phase_prefix(number)
        scope = {o.id for o in snapshot.orders if (o.receipt or "").startswith(prefix)}
        verdict = invariants.check(snapshot, scope, global_checks=False, set_aside=self.set_aside)
        if result is not None:
            verdict.violations += [invariants.Violation("poison event", result.event_id, p) for p in result.problems]
            verdict.not_run += result.not_run
        verdict.violations += [invariants.Violation("phase", spec.key, p) for p in problems]
        row = phase_row(spec.title, verdict.orders_with_attempts, verdict, settled.seconds if settled.ok else None)
        log(
            f"phase {number}: {row.payments} payments, accepted {_n(row.accepted)}, applied {_n(row.applied)}, "
            f"lost {_n(row.lost)}, applied twice {row.applied_twice}, "
            + ("checks ok" if not row.problems else f"{len(row.problems)} problems")
        )
        for problem in row.problems[:20]:
            log(f"    {problem}")
        load_info = {
            "started": stats.with_attempt,
            "retried_calls": stats.retries,
            "caught_up": extra,
            "gave_up": [f"{s.receipt}: {s.outcome}" for s in gave_up],
            "attempts": verdict.payments,
        }
        return PhaseOutcome(row, verdict, fault_note, load_info, result)

    def _account_poison(self, result: PoisonResult) -> None:
        # the attempt the fix wrote never went through the gateway: it has no record there to agree with
        if result.payment_id:
            self.sources.harness_payments.add(result.payment_id)
        # an event left in the DLQ on purpose is not expected to apply: it is counted there instead
        if result.left_in_dlq:
            self.sources.expected_dead_letters[DLQ] = self.sources.expected_dead_letters.get(DLQ, 0) + 1
            if result.order_id:
                self.set_aside.add(result.order_id)
        elif result.accepted:
            self.sources.harness_events.append(invariants.AcceptedEvent(result.event_id, result.payment_id, "harness"))

    async def run(self) -> int:
        log = self.clock.log
        selected = [p for p in phases(self.o.hold_seconds) if not self.o.faults or p.key in self.o.faults]
        unknown = set(self.o.faults) - {p.key for p in phases(self.o.hold_seconds)}
        if unknown or not selected:
            print(f"chaos: unknown faults {sorted(unknown)}; known: {[p.key for p in phases(0)]}", file=sys.stderr)
            return 2
        if problems := preflight(self.ports):
            for problem in problems:
                print(f"chaos: {problem}", file=sys.stderr)
            return 2

        log(f"fresh database {DATABASE} and vhost {VHOST}")
        await reset_database(self.dsn)
        await reset_vhost()
        await migrate_all(self.dsn)
        # the previous run's logs are kept once, as evidence of whatever it found
        shutil.rmtree(PREVIOUS_LOG_DIR, ignore_errors=True)
        if LOG_DIR.exists():
            LOG_DIR.rename(PREVIOUS_LOG_DIR)
        shutil.rmtree(Path(".run/hold"), ignore_errors=True)
        stack = Stack(self.env, log_dir=LOG_DIR, restart_limit=50)
        log(f"starting the four services (logs in {LOG_DIR})")
        outcomes: list[PhaseOutcome] = []
        final: PhaseRow | None = None
        stop_reason = ""
        started_at = datetime.now(UTC)
        try:
            await stack.start()
            self.supervisor = asyncio.create_task(stack.supervise())
            log(f"system up; {len(selected)} phases, {self.o.payments} payments")
            async with Client(f"http://127.0.0.1:{self.ports['order-svc']}", self.key) as client:
                counts = split(self.o.payments, len(selected))
                for number, (spec, count) in enumerate(zip(selected, counts, strict=True), 1):
                    if stop_reason:
                        outcomes.append(PhaseOutcome(skipped_row(spec.title, stop_reason), None, "", {}, None))
                        continue
                    outcome = await self.phase(number, spec, count, client)
                    outcomes.append(outcome)
                    if gone := self.supervisor_gave_up():
                        stop_reason = f"the stack gave up restarting {gone}"
                    elif outcome.row.settle_seconds is None and not self.o.keep_going:
                        stop_reason = f"the system did not settle after phase {number} ({spec.key})"
                    if stop_reason:
                        log(f"{stop_reason}: skipping the remaining phases (--keep-going runs them anyway)")
            log("checking the whole run")
            snapshot = await observe.read_snapshot(self.dsn, self.sources)
            # the database is the run's own: every order in it is the load's or the harness's
            whole = invariants.check(snapshot, global_checks=True, set_aside=self.set_aside)
            verdict = invariants.combine(whole, [o.verdict for o in outcomes if o.verdict is not None])
            settles = [o.row.settle_seconds for o in outcomes]
            final = phase_row(
                "total",
                sum(o.row.payments for o in outcomes),
                verdict,
                None if any(s is None for s in settles) else sum(s for s in settles if s is not None),
            )
        finally:
            if self.supervisor is not None:
                self.supervisor.cancel()
            shutil.rmtree(Path(".run/hold"), ignore_errors=True)
            await stack.stop()
            log("services stopped")

        rows = [o.row for o in outcomes]
        print()
        print(format_table(rows, final))
        print()
        ok = final is not None and final.ok and not final.checks_not_run and all(r.ok for r in rows)
        if final is not None and final.problems:
            print(f"problems ({len(final.problems)}; all of them in {REPORT}):")
            for problem in final.problems[:40]:
                print(f"  {problem}")
        self.write_report(outcomes, final, ok, started_at, selected)
        duration = time.monotonic() - self.clock.t0
        verdict_line = "PASSED" if ok else "FAILED"
        print(f"chaos {verdict_line} in {duration / 60:.1f} min; report in {REPORT}, logs in {LOG_DIR}")
        return 0 if ok else 1

    def write_report(
        self,
        outcomes: list[PhaseOutcome],
        final: PhaseRow | None,
        ok: bool,
        started_at: datetime,
        selected: list[PhaseSpec],
    ) -> None:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "ok": ok,
            "started_at": started_at.isoformat(),
            "duration_seconds": round(time.monotonic() - self.clock.t0, 1),
            "options": asdict(self.o),
            "settings": CHAOS_SETTINGS,
            "database": DATABASE,
            "vhost": VHOST,
            "phases": [
                {
                    "key": spec.key,
                    **o.row.to_json(),
                    "fault_note": o.fault_note,
                    "load": o.load,
                    "poison": asdict(o.poison) if o.poison else None,
                }
                for spec, o in zip(selected, outcomes, strict=False)
            ],
            "total": final.to_json() if final else None,
        }
        REPORT.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _n(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _brief(left: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(left.items())) or "nothing"


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m tests.chaos", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = Options()
    parser.add_argument("--payments", type=int, default=defaults.payments, help="payments in all, split over phases")
    parser.add_argument(
        "--faults",
        default="",
        help="comma-separated phases to run (default all): " + ", ".join(p.key for p in phases(0)),
    )
    parser.add_argument("--rate", type=float, default=defaults.rate, help="payments started per second")
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency, help="payments in progress at once")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the load mix and the gateway faults")
    parser.add_argument(
        "--fault-at", type=float, default=defaults.fault_at, help="when the fault hits, as a fraction of the load"
    )
    parser.add_argument("--hold-seconds", type=float, default=defaults.hold_seconds, help="webhook gateway downtime")
    parser.add_argument("--settle-timeout", type=float, default=defaults.settle_timeout, help="seconds per phase")
    parser.add_argument(
        "--keep-going", action="store_true", help="run the remaining phases after one that did not settle"
    )
    args = parser.parse_args(argv)
    if args.payments < 1 or args.rate <= 0 or args.concurrency < 1:
        parser.error("--payments, --rate and --concurrency must be positive")
    return Options(
        payments=args.payments,
        faults=[f.strip() for f in args.faults.split(",") if f.strip()],
        rate=args.rate,
        concurrency=args.concurrency,
        seed=args.seed,
        fault_at=args.fault_at,
        hold_seconds=args.hold_seconds,
        settle_timeout=args.settle_timeout,
        keep_going=args.keep_going,
    )


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    os.chdir(ROOT)
    clock = Clock()
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(asyncio.run(Run(options, clock).run()))
    raise SystemExit(130)
