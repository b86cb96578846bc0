"""The faults, each an async function that returns once the fault is over and the system is back up.

Services are killed through their pid files (`.run/pids/<name>.pid`) and brought back by the stack's
supervisor; a service is kept down with a hold file (`.run/hold/<name>`, see payments_tools.stack).
PostgreSQL and RabbitMQ are the machine's own: they are restarted with their own tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from payments_common.config import port_of
from payments_tools.stack import SERVICES, hold_file

from .observe import rabbitmqctl

BACK_TIMEOUT = 90.0


class FaultError(Exception):
    """The fault could not be injected, or the system did not come back from it."""


@dataclass(frozen=True, slots=True)
class Context:
    run_dir: Path
    vhost: str
    ports: dict[str, int]
    log: Callable[[str], None]

    def pid_file(self, service: str) -> Path:
        return self.run_dir / "pids" / f"{service}.pid"

    def pid(self, service: str) -> int | None:
        try:
            return int(self.pid_file(service).read_text())
        except (FileNotFoundError, ValueError):
            return None


Fault = Callable[[Context], Awaitable[str]]


async def run(*argv: str, limit: float = 120.0) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return -1, f"{argv[0]} timed out after {limit:.0f} s"
    return process.returncode or 0, out.decode(errors="replace").strip()


async def healthy(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
            session.get(f"http://127.0.0.1:{port}/health") as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def wait_back(ctx: Context, service: str, old_pid: int | None, within: float = BACK_TIMEOUT) -> int:
    """The new pid once the supervisor restarted the service and it answers its health check."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pid = ctx.pid(service)
        if pid is not None and pid != old_pid and await healthy(ctx.ports[service]):
            return pid
        await asyncio.sleep(0.2)
    raise FaultError(f"{service} did not come back within {within:.0f} s")


async def wait_down(ctx: Context, service: str, pid: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            if not await healthy(ctx.ports[service]):
                return
        await asyncio.sleep(0.1)
    raise FaultError(f"{service} (pid {pid}) did not stop within {within:.0f} s")


def kill9(service: str) -> Fault:
    async def fault(ctx: Context) -> str:
        pid = ctx.pid(service)
        if pid is None:
            raise FaultError(f"no pid file for {service}")
        os.kill(pid, signal.SIGKILL)
        ctx.log(f"kill -9 {service} (pid {pid})")
        t0 = time.monotonic()
        new_pid = await wait_back(ctx, service, pid)
        return f"{service} back as pid {new_pid} after {time.monotonic() - t0:.1f} s"

    return fault


def hold_down(service: str, seconds: float) -> Fault:
    """Stop the service and keep the supervisor from restarting it for `seconds`."""

    async def fault(ctx: Context) -> str:
        pid = ctx.pid(service)
        if pid is None:
            raise FaultError(f"no pid file for {service}")
        hold = hold_file(service, ctx.run_dir)
        hold.parent.mkdir(parents=True, exist_ok=True)
        hold.touch()
        try:
            os.kill(pid, signal.SIGTERM)
            await wait_down(ctx, service, pid)
            ctx.log(f"{service} down (SIGTERM, held by {hold}); keeping it down {seconds:.0f} s")
            await asyncio.sleep(seconds)
        finally:
            hold.unlink(missing_ok=True)
        t0 = time.monotonic()
        new_pid = await wait_back(ctx, service, pid)
        return f"hold released; {service} back as pid {new_pid} after {time.monotonic() - t0:.1f} s"

    return fault


async def _services_healthy(ctx: Context, within: float = BACK_TIMEOUT) -> None:
    deadline = time.monotonic() + within
    for service, port in ctx.ports.items():
        while not await healthy(port):
            if time.monotonic() > deadline:
                raise FaultError(f"{service} is not healthy {within:.0f} s after the fault")
            await asyncio.sleep(0.2)


ENSURE_SERVICES = Path(__file__).resolve().parents[2] / "scripts" / "ensure-services.sh"


async def restart_rabbitmq(ctx: Context) -> str:
    t0 = time.monotonic()
    code, out = await rabbitmqctl("shutdown", limit=120)
    if code != 0:
        raise FaultError(f"rabbitmqctl shutdown failed: {out[-300:]}")
    ctx.log(f"RabbitMQ stopped ({time.monotonic() - t0:.1f} s); starting it")
    code, out = await run("rabbitmq-server", "-detached")
    if code != 0:
        raise FaultError(f"rabbitmq-server -detached failed: {out[-300:]}")
    # the node takes a moment to register before await_startup can even reach it
    deadline = time.monotonic() + 180
    while (result := await rabbitmqctl("await_startup", limit=120))[0] != 0:
        if time.monotonic() > deadline:
            raise FaultError(f"RabbitMQ did not start: {result[1][-300:]}")
        await asyncio.sleep(1.0)
    ctx.log(f"RabbitMQ back ({time.monotonic() - t0:.1f} s after the shutdown began)")
    # a started broker takes its default file handle budget, which the queues of the other runs on the
    # machine can exhaust (then no new connection finishes its handshake): raised as `make` raises it
    code, out = await run(str(ENSURE_SERVICES))
    if code != 0:
        raise FaultError(f"{ENSURE_SERVICES.name} failed after the restart: {out[-300:]}")
    await _services_healthy(ctx)
    return f"RabbitMQ restarted in {time.monotonic() - t0:.1f} s"


def _pg_cluster() -> str:
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()])
    if not versions:
        raise FaultError("no cluster under /etc/postgresql")
    return versions[-1]


# the services with a database of their own: their /readyz must say so while PostgreSQL is down
DATABASE_SERVICES = ("order-svc", "payment-svc", "mock-gateway")


async def readiness(port: int) -> tuple[int, list[str]]:
    """`/readyz`'s status and the checks it names as failing (none when it is ready or did not answer)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(f"http://127.0.0.1:{port}/readyz") as response,
        ):
            body = await response.json(content_type=None)
            failing = body.get("failing", []) if isinstance(body, dict) else []
            return response.status, [str(name) for name in failing]
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return 0, []


async def _unready_naming_database(ctx: Context, within: float) -> dict[str, bool]:
    """Polls each database service's /readyz until every one answers 503 naming `database`, or `within` ends."""
    seen = dict.fromkeys(DATABASE_SERVICES, False)
    deadline = time.monotonic() + within
    while not all(seen.values()) and time.monotonic() < deadline:
        for service in DATABASE_SERVICES:
            if not seen[service] and service in ctx.ports:
                status, failing = await readiness(ctx.ports[service])
                seen[service] = status == 503 and "database" in failing
        await asyncio.sleep(0.2)
    return seen


async def _ready_again(ctx: Context, within: float = BACK_TIMEOUT) -> None:
    deadline = time.monotonic() + within
    for service in DATABASE_SERVICES:
        while (await readiness(ctx.ports[service]))[0] != 200:
            if time.monotonic() > deadline:
                raise FaultError(f"{service}'s /readyz is not 200 {within:.0f} s after PostgreSQL came back")
            await asyncio.sleep(0.2)


async def restart_postgres(ctx: Context, down_seconds: float = 2.0) -> str:
    version = _pg_cluster()
    t0 = time.monotonic()
    code, out = await run("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop")
    if code != 0:
        raise FaultError(f"pg_ctlcluster stop failed: {out[-300:]}")
    ctx.log(f"PostgreSQL stopped ({time.monotonic() - t0:.1f} s); down for {down_seconds:.0f} s at least")
    # while it is down, every service with a database must say so on /readyz: health that tells the truth
    seen = await _unready_naming_database(ctx, within=down_seconds + 10)
    if not all(seen.values()):
        missing = ", ".join(service for service, named in seen.items() if not named)
        raise FaultError(f"/readyz did not answer 503 naming the database while PostgreSQL was down: {missing}")
    ctx.log("/readyz answered 503 naming the database on " + ", ".join(seen))
    await asyncio.sleep(max(0.0, down_seconds - (time.monotonic() - t0)))
    code, out = await run("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start")
    if code != 0:
        raise FaultError(f"pg_ctlcluster start failed: {out[-300:]}")
    deadline = time.monotonic() + 60
    while (await run("pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"))[0] != 0:
        if time.monotonic() > deadline:
            raise FaultError("PostgreSQL is not ready 60 s after its start")
        await asyncio.sleep(0.5)
    ctx.log(f"PostgreSQL back ({time.monotonic() - t0:.1f} s after the stop began)")
    await _services_healthy(ctx)
    await _ready_again(ctx)
    return f"PostgreSQL restarted in {time.monotonic() - t0:.1f} s; /readyz said 503 database while down, 200 after"


async def close_broker_connections(ctx: Context) -> str:
    # every client connection of the system under test (its own vhost): the other vhosts' are left alone
    code, out = await rabbitmqctl("close_all_connections", "-p", ctx.vhost, "chaos: all connections closed")
    if code != 0:
        raise FaultError(f"rabbitmqctl close_all_connections failed: {out[-300:]}")
    ctx.log(f"closed every connection of vhost {ctx.vhost}")
    await asyncio.sleep(1.0)
    await _services_healthy(ctx)
    return "connections closed"


def service_ports(env: dict[str, str]) -> dict[str, int]:
    return {s.name: port_of(env.get(s.url_var, f"http://127.0.0.1:{s.default_port}"), s.default_port) for s in SERVICES}
