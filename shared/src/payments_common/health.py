"""Liveness and readiness that tell the truth.

- `GET /healthz`: the process is alive and its event loop answers. It checks nothing else, so an
  orchestrator restarts a process only when restarting it could help.
- `GET /readyz`: every check the service registered passes (its database answers, its migrations are
  the ones it ships, its broker connection and channels are open); 503 naming what failed otherwise, so
  traffic is withheld while a dependency is down and given back when it returns, without a restart.

A check is an async callable that returns when healthy and raises when not. Every check runs under a
timeout (a hung database must not hang the probe), all of them at once, and concurrent probes share
one run, so probes hammering a struggling service add no load to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from aiohttp import web

from payments_common import metrics
from payments_common.broker import Publisher
from payments_common.consumer import Consumer
from payments_common.logging import get_logger
from payments_common.migrate import Migration, load_migrations

log = get_logger(__name__)

Check = Callable[[], Awaitable[None]]
# getters, not values: the pool and the connection exist only once the app's start-up has run
T = TypeVar("T")
PoolGetter = Callable[[], asyncpg.Pool | None]
ConnectionGetter = Callable[[], AbstractRobustConnection | None]
ChannelsGetter = Callable[[], Mapping[str, AbstractChannel | None]]

# each check's budget; a probe answers within about this even when a dependency hangs
CHECK_TIMEOUT_SECONDS = 1.5


class CheckFailed(Exception):
    """A check's plain "no", with what it found; its message is the check's `error`."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    error: str | None = None
    seconds: float = 0.0

    def body(self) -> dict[str, Any]:
        result: dict[str, Any] = {"ok": self.ok, "seconds": round(self.seconds, 4)}
        if self.error is not None:
            result["error"] = self.error
        return result


class Readiness:
    """A service's named readiness checks. A service with none is ready."""

    def __init__(self, *, timeout: float = CHECK_TIMEOUT_SECONDS, service: str = "unknown") -> None:
        self.timeout = timeout
        self.service = service
        self._checks: dict[str, Check] = {}
        self._running: asyncio.Future[dict[str, CheckResult]] | None = None

    def add(self, name: str, check: Check) -> None:
        if name in self._checks:
            raise ValueError(f"a readiness check named {name!r} is registered already")
        self._checks[name] = check

    async def run(self) -> dict[str, CheckResult]:
        """Every check's result; a run already in flight is joined rather than started again. Shielded:
        a probe whose client gave up does not cancel the run the others wait on."""
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._run_all())
        return await asyncio.shield(self._running)

    async def _run_all(self) -> dict[str, CheckResult]:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run_one(self._checks[name]) for name in names))
        outcome = dict(zip(names, results, strict=True))
        # whoever asked (a probe, a scrape), Prometheus sees the last answer
        for name, result in outcome.items():
            metrics.READINESS_CHECK.labels(self.service, name).set(1 if result.ok else 0)
        metrics.SERVICE_READY.labels(self.service).set(1 if all(r.ok for r in results) else 0)
        return outcome

    async def _run_one(self, check: Check) -> CheckResult:
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                await check()
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        except CheckFailed as exc:
            error = str(exc)
        except Exception as exc:
            # the type and a bounded message: enough to tell a refused connection from a bad password,
            # short enough for a probe's body (which carries no secret: DSNs are never in these messages)
            error = f"{type(exc).__name__}: {exc}"[:300]
        else:
            return CheckResult(True, None, time.perf_counter() - start)
        return CheckResult(False, error, time.perf_counter() - start)


READINESS = web.AppKey("readiness", Readiness)


def readiness(app: web.Application) -> Readiness:
    """The app's registry (base_app made it): `readiness(app).add("database", database_check(...))`."""
    return app[READINESS]


def _json(data: Any, status: int = 200) -> web.Response:
    # never cached by a proxy between the probe and the process
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


async def healthz(_: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    results = await request.config_dict[READINESS].run()
    checks = {name: result.body() for name, result in results.items()}
    failing = [name for name, result in results.items() if not result.ok]
    if failing:
        log.warning("readiness.failing", failing=failing, errors={n: results[n].error for n in failing})
        return _json({"status": "unready", "failing": failing, "checks": checks}, status=503)
    return _json({"status": "ready", "checks": checks})


# ---------------------------------------------------------------------------------------------
# the checks every service with a database or a broker registers
# ---------------------------------------------------------------------------------------------


def _got(getter: Callable[[], T | None], missing: str) -> T:
    """What `getter` reads off the app, once start-up has made it; `missing` fails the check before."""
    try:
        value = getter()
    except (KeyError, AttributeError, LookupError):
        value = None
    if value is None:
        raise CheckFailed(missing)
    return value


def _pool(getter: PoolGetter) -> asyncpg.Pool:
    return _got(getter, "no database pool yet")


def database_check(pool_getter: PoolGetter) -> Check:
    """The pool gives a connection and the database answers `SELECT 1` (a pool that is exhausted for
    the whole timeout is unready too: requests would wait just as long)."""

    async def check() -> None:
        async with _pool(pool_getter).acquire() as conn:
            await conn.fetchval("SELECT 1")

    return check


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _label(component: str, version: int, name: str) -> str:
    return f"{component}:{version:04d}_{name}"


def migrations_check(pool_getter: PoolGetter, schema: str, migrations: Sequence[Migration]) -> Check:
    """Every migration this process ships is recorded in `schema`'s `schema_migrations`
    (payments_common.migrate) with the same checksum: a process on a schema behind it, or migrated from
    other files, would run queries against tables that are not the ones it was written for.

    Migrations recorded but not shipped are a newer release's, applied first in a rolling upgrade; they only
    expand the schema (docs: expand, then contract), so the older process stays ready beside them."""
    shipped = {(m.component, m.version): (m.name, m.checksum) for m in migrations}
    query = f"SELECT component, version, name, checksum FROM {_quote(schema)}.schema_migrations"

    async def check() -> None:
        async with _pool(pool_getter).acquire() as conn:
            try:
                rows = await conn.fetch(query)
            except asyncpg.UndefinedTableError:
                raise CheckFailed(f"schema {schema} has no migrations applied") from None
        recorded = {(r["component"], r["version"]): (r["name"], r["checksum"]) for r in rows}
        missing = sorted(_label(c, v, shipped[(c, v)][0]) for c, v in shipped.keys() - recorded.keys())
        changed = sorted(
            _label(c, v, shipped[(c, v)][0])
            for c, v in shipped.keys() & recorded.keys()
            if shipped[(c, v)][1] != recorded[(c, v)][1]
        )
        problems = [
            f"{what}: {', '.join(names)}" for what, names in (("not applied", missing), ("changed", changed)) if names
        ]
        if problems:
            raise CheckFailed(f"schema {schema}: " + "; ".join(problems))

    return check


def shipped_migrations(*components: str) -> list[Migration]:
    """The migrations of `components`, in the order payments-migrate applies them to one schema."""
    return [migration for component in components for migration in load_migrations(component)]


def broker_check(
    connection_getter: ConnectionGetter,
    channels_getter: ChannelsGetter | None = None,
    *,
    publisher_getter: Callable[[], Publisher | None] | None = None,
) -> Check:
    """The robust connection is open, and so is each named channel (each consumer's: see `consumer_channels`).

    A robust connection reopens itself and its channels after a broker restart: while it is closed the
    service is unready, and ready again once it is back, without a restart. A consumer's channel closed on
    its own (a channel error) stays closed and its consumer consumes nothing: unready until restarted.
    The publisher's channel is opened lazily and replaced after a failed publish, so it is not read but
    (re)opened here: a service withheld from traffic would otherwise never publish, so never reopen it,
    and stay unready for good.
    """

    async def check() -> None:
        connection = _got(connection_getter, "no broker connection yet")
        if connection.is_closed:
            raise CheckFailed("broker connection closed")
        closed = []
        if channels_getter is not None:
            closed = [name for name, channel in channels_getter().items() if channel is None or channel.is_closed]
        if publisher_getter is not None and (publisher := publisher_getter()) is not None:
            try:
                await publisher.open()
            except Exception as exc:
                closed.append(f"publisher ({type(exc).__name__})")
        if closed:
            raise CheckFailed(f"channels closed: {', '.join(sorted(closed))}")

    return check


def consumer_channels(consumers: Iterable[Consumer]) -> dict[str, AbstractChannel | None]:
    """The consumers' channels by `consumer:<queue>`, for `broker_check`'s `channels_getter`."""
    return {f"consumer:{consumer.queue_name}": consumer.channel for consumer in consumers}


@dataclass(slots=True)
class Live:
    """What a service's checks read: its start-up fills it in (the checks are registered before it runs)."""

    pool: asyncpg.Pool | None = None
    connection: AbstractRobustConnection | None = None
    publisher: Publisher | None = None
    consumers: list[Consumer] = field(default_factory=list)


def register(
    app: web.Application, live: Live, *, schema: str | None = None, components: Sequence[str] = (), broker: bool = False
) -> None:
    """The usual checks: `database`, and `migrations` (`components`' migrations, as `payments-migrate`
    applies them to `schema`), when the service has a schema; `broker` (connection, publisher, consumers'
    channels) when it uses RabbitMQ."""
    checks = readiness(app)
    if schema is not None:
        checks.add("database", database_check(lambda: live.pool))
        checks.add("migrations", migrations_check(lambda: live.pool, schema, shipped_migrations(*components)))
    if broker:
        checks.add(
            "broker",
            broker_check(
                lambda: live.connection,
                lambda: consumer_channels(live.consumers),
                publisher_getter=lambda: live.publisher,
            ),
        )
