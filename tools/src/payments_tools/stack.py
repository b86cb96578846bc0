"""`payments-stack`: run the four services and the operators' console together.

- `payments-stack run`: migrate, start every service in the foreground with readable, prefixed logs,
  print the URLs and a dev API key, stop them all cleanly on Ctrl-C or SIGTERM.
- `payments-stack exec -- CMD …`: migrate, start the services in the background (logs in
  `.run/logs/`), wait until each is ready (`/readyz`), run CMD with the system's environment (plus
  `API_URL`, `WEBHOOK_URL`, `PAYMENTS_RUN_DIR`, and `CONSOLE_URL`, `CONSOLE_OPERATOR`, `CONSOLE_PASSWORD`
  to sign in to the console), stop the services, exit with CMD's status.

The console gets a dev operator, `admin`, with a fresh random password each start (its hash in
`CONSOLE_OPERATORS`; `run` prints the password in its banner), unless `CONSOLE_OPERATORS` is set.

Mail: unless `SMTP_URL` names another server, both start a local mail catcher
(`payments_tools/mail_catcher.py`, smtp://127.0.0.1:8025, another port with `--mail-port`) and point
order-svc at it; every message lands in `.run/mail/` as an `.eml` file. `exec` empties that folder
first and passes it to CMD as `MAIL_DIR`.

Secrets: `run` reads them from the environment, else from `.env`, which it creates with fresh ones on
first use (`payments_tools/localenv.py`); with the contract's secrets in the environment and no `.env`,
it generates only the internal tokens. `exec` uses the environment's and generates what it lacks.

Rate limits: the services share their buckets in Redis, `REDIS_URL` (default redis://127.0.0.1:6379/0,
which `scripts/ensure-services.sh` starts; an empty `REDIS_URL` keeps them in each process's memory).

Ports: each service listens on the port of its `*_URL` (8080-8085 by default), so a second system can
run beside the first on other ports, its own database and its own RabbitMQ vhost.

Scale: `--scale 2` runs two instances of every service but the mock gateway (`order-svc-1` on 8180,
`order-svc-2` on 8280, …) behind HAProxy on the services' usual ports (`payments_tools/stack_scale.py`
says how, and why the internal URLs go through it too); the balancer is one more supervised process,
`balancer`, its configuration in `.run/haproxy.cfg`. Pid, log and hold files are per instance.

In both, a service that exits by itself (a crash, a `kill -9`) is restarted, as a process manager
in production would; each one's pid is in `.run/pids/<name>.pid`. One that keeps exiting at once is
given up on, and the stack stops.

Holding a service down: while the file `.run/hold/<name>` exists, a service that exits is not
restarted (its pid file is removed); it is started again as soon as the file is removed. A hold only
affects restarts: create the file, then stop the process (`kill -TERM $(cat .run/pids/<name>.pid)`),
and delete the file to bring it back. The fault tests use this to keep the webhook gateway down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp
import orjson

from merchant_webhooks.settings import MERCHANT_WEBHOOKS_PORT
from payments_common.config import (
    DEFAULT_REDIS_URL,
    MOCK_GATEWAY_PORT,
    ORDER_SVC_PORT,
    PAYMENT_SVC_PORT,
    WEBHOOK_GATEWAY_PORT,
)
from payments_console.settings import CONSOLE_PORT
from payments_tools import mail_catcher
from payments_tools.localenv import load_or_create
from payments_tools.stack_env import (
    LOCAL_WEBHOOK_HOSTS,
    ensure_console_operator,
    exec_system_env,
    mail_line,
    use_mail_catcher,
)
from payments_tools.stack_scale import Process, listening_ports, plan, processes, write_balancer_config

# what the tests and the chaos runner import from here
__all__ = ["SERVICES", "Stack", "hold_file", "mail_line", "port_free", "use_mail_catcher"]


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    module: str
    url_var: str
    default_port: int
    colour: str
    # run as several instances behind the balancer at --scale 2 and above
    scaled: bool = True


SERVICES = (
    ServiceSpec("order-svc", "order_svc", "ORDER_SVC_URL", ORDER_SVC_PORT, "36"),
    ServiceSpec("webhook-gateway", "webhook_gateway", "WEBHOOK_GATEWAY_URL", WEBHOOK_GATEWAY_PORT, "35"),
    ServiceSpec("payment-svc", "payment_svc", "PAYMENT_SVC_URL", PAYMENT_SVC_PORT, "33"),
    # a test double: one instance whatever the scale
    ServiceSpec("mock-gateway", "mock_gateway", "MOCK_GATEWAY_URL", MOCK_GATEWAY_PORT, "32", scaled=False),
    # the operators' console: its own process, reading the others only through their admin APIs
    ServiceSpec("payments-console", "payments_console", "CONSOLE_URL", CONSOLE_PORT, "34"),
    # webhooks to merchants: its own process, the one that calls merchants' (untrusted) servers
    ServiceSpec("merchant-webhooks", "merchant_webhooks", "MERCHANT_WEBHOOKS_URL", MERCHANT_WEBHOOKS_PORT, "31"),
)
STOP_TIMEOUT = 10.0
START_TIMEOUT = 60.0
RUN_DIR = Path(".run")
# more exits than this within the window: the service is crash-looping, stop restarting it
RESTART_LIMIT = 5
RESTART_WINDOW_SECONDS = 60.0
# how often a held service's hold file is looked at
HOLD_POLL_SECONDS = 0.2


def port_free(port: int) -> bool:
    """Nothing listens on `port` of 127.0.0.1 (a system already running would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _render(line: str) -> str:
    """A JSON log line as `time level event key=value …`; anything else as it is."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line
    if not isinstance(record, dict):
        return line
    record.pop("service", None)
    stamp = str(record.pop("timestamp", ""))[11:23]
    level = str(record.pop("level", "")).upper()[:5]
    event = record.pop("event", "")
    extras = " ".join(f"{k}={v}" for k, v in record.items() if k != "exception")
    text = f"{stamp} {level:<5} {event} {extras}".rstrip()
    if "exception" in record:
        text += "\n" + str(record["exception"])
    return text


def hold_file(name: str, run_dir: Path = RUN_DIR) -> Path:
    """While this file exists, the supervisor does not restart the service `name` when it exits."""
    return run_dir / "hold" / name


class Stack:
    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path | None,
        pretty: bool = True,
        restart_limit: int = RESTART_LIMIT,
        mail_dir: Path | None = None,
        mail_port: int = mail_catcher.PORT,
        scale: int = 1,
    ) -> None:
        self.env = env
        self.scale = scale
        # by the environment the processes get: a `*_URL` may come from either
        self.instances = plan({**os.environ, **env}, SERVICES, scale)
        self.procs = processes(self.instances, SERVICES, RUN_DIR / "haproxy.cfg")
        # the console's dev operator (unless CONSOLE_OPERATORS names the operators): its password, for the
        # banner and an exec command
        self.console_password = ensure_console_operator(env)
        self.log_dir = log_dir
        # where the mail catcher keeps messages; None: no catcher (SMTP_URL names a real server)
        self.mail_dir = mail_dir
        self.mail_port = mail_port
        self._catcher: asyncio.Server | None = None
        self.pretty = pretty
        self.restart_limit = restart_limit
        self.pid_dir = RUN_DIR / "pids"
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self._pumps: list[asyncio.Task[None]] = []
        self._files: dict[str, IO[bytes]] = {}
        self._stopping = False

    def ports(self) -> dict[str, int]:
        """Where each process listens; the balancer under each service it fronts."""
        return listening_ports(self.instances)

    async def start(self) -> None:
        write_balancer_config(self.instances, RUN_DIR / "haproxy.cfg")
        busy = [f"{name} ({p})" for name, p in self.ports().items() if not port_free(p)]
        if self.mail_dir is not None and not port_free(self.mail_port):
            busy.append(f"mail catcher ({self.mail_port})")
        if busy:
            raise SystemExit(
                "payments-stack: ports already in use: " + ", ".join(busy) + ". Is the system already running?"
            )
        if self.mail_dir is not None:
            # before order-svc, whose first email may come at once
            self._catcher = await mail_catcher.start(self.mail_dir, port=self.mail_port)
        for proc in self.procs.values():
            await self._spawn(proc)
        await self.wait_healthy()

    async def _spawn(self, spec: Process) -> None:
        if self.log_dir is not None:
            if spec.name not in self._files:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                self._files[spec.name] = open(  # noqa: SIM115 - closed in stop()
                    self.log_dir / f"{spec.name}.log", "ab"
                )
            stdout: int | IO[bytes] = self._files[spec.name]
        else:
            stdout = asyncio.subprocess.PIPE
        process = await asyncio.create_subprocess_exec(
            *spec.argv,
            env={**os.environ, **self.env, **spec.env},
            stdout=stdout,
            stderr=asyncio.subprocess.STDOUT,
            # our own process group: a terminal's Ctrl-C reaches us only, and we stop them in order
            start_new_session=True,
        )
        self.processes[spec.name] = process
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        (self.pid_dir / f"{spec.name}.pid").write_text(f"{process.pid}\n")
        if process.stdout is not None:
            self._pumps.append(asyncio.create_task(self._pump(spec, process.stdout)))

    async def _pump(self, spec: Process, stream: asyncio.StreamReader) -> None:
        width = max(15, *(len(name) for name in self.procs))
        prefix = (
            f"\x1b[{spec.colour}m{spec.name:<{width}}\x1b[0m | " if sys.stdout.isatty() else f"{spec.name:<{width}} | "
        )
        async for raw in stream:
            line = raw.decode(errors="replace").rstrip("\n")
            sys.stdout.write(prefix + (_render(line) if self.pretty else line) + "\n")
            sys.stdout.flush()

    async def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            for spec in self.procs.values():
                for ready_port in spec.ready_ports:
                    await self._wait_ready(session, spec.name, f"http://127.0.0.1:{ready_port}/readyz", deadline)

    async def _wait_ready(self, session: aiohttp.ClientSession, name: str, url: str, deadline: float) -> None:
        while True:
            process = self.processes[name]
            if process.returncode is not None:
                raise SystemExit(f"payments-stack: {name} exited with {process.returncode} at start")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise SystemExit(f"payments-stack: {name} did not answer on {url} in time")
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        self._stopping = True
        for process in self.processes.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                print(f"payments-stack: {name} did not stop in {STOP_TIMEOUT:.0f}s; killing it", file=sys.stderr)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        for pump in self._pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        for file in self._files.values():
            file.close()
        for name in self.procs:
            (self.pid_dir / f"{name}.pid").unlink(missing_ok=True)
        if self._catcher is not None:
            self._catcher.close()
            await self._catcher.wait_closed()

    async def first_exit(self) -> tuple[str, int]:
        waits = {asyncio.create_task(p.wait()): name for name, p in self.processes.items()}
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        task = done.pop()
        return waits[task], task.result()

    def held(self, name: str) -> bool:
        return hold_file(name).exists()

    async def _hold_released(self, name: str) -> None:
        while True:
            if self._stopping or not self.held(name):
                return
            await asyncio.sleep(HOLD_POLL_SECONDS)

    async def supervise(self) -> str:
        """Restart services that exit by themselves; return the name of one that keeps exiting.

        A service that exits while its hold file exists is left down until the file is removed.
        """
        specs = self.procs
        exits: dict[str, list[float]] = {name: [] for name in specs}
        held: set[str] = set()
        while True:
            # a held service waits for its hold to go, every other one for its process to exit
            watches: dict[asyncio.Task[Any], str] = {}
            for name, process in self.processes.items():
                waiter = self._hold_released(name) if name in held else process.wait()
                watches[asyncio.create_task(waiter)] = name
            try:
                done, _ = await asyncio.wait(watches, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for watch in watches:
                    watch.cancel()
            if self._stopping:
                return ""
            task = done.pop()
            name = watches[task]
            if name in held:
                held.discard(name)
                print(f"payments-stack: {hold_file(name)} removed; starting {name}", file=sys.stderr, flush=True)
                await self._spawn(specs[name])
                continue
            code = task.result()
            if self.held(name):
                held.add(name)
                (self.pid_dir / f"{name}.pid").unlink(missing_ok=True)
                print(
                    f"payments-stack: {name} exited with {code}; held by {hold_file(name)}, not restarting it",
                    file=sys.stderr,
                    flush=True,
                )
                continue
            now = time.monotonic()
            exits[name] = [t for t in exits[name] if now - t < RESTART_WINDOW_SECONDS] + [now]
            if len(exits[name]) > self.restart_limit:
                return name
            print(f"payments-stack: {name} exited with {code}; restarting it", file=sys.stderr, flush=True)
            await asyncio.sleep(0.5)
            if self._stopping:
                return ""
            await self._spawn(specs[name])


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="payments-stack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    mail = argparse.ArgumentParser(add_help=False)
    mail.add_argument(
        "--mail-port", type=int, default=mail_catcher.PORT, help="the local mail catcher's port (default: %(default)s)"
    )
    mail.add_argument(
        "--scale",
        type=int,
        default=1,
        choices=range(1, 10),
        metavar="N",
        help="instances of each service but the mock gateway, behind HAProxy when more than 1 (default: 1)",
    )
    run = sub.add_parser("run", help="run every service in the foreground", parents=[mail])
    run.add_argument("--env-file", type=Path, default=Path(".env"))
    run.add_argument("--json-logs", action="store_true", help="print the services' JSON log lines as they are")
    ex = sub.add_parser("exec", help="start the system, run a command against it, stop the system", parents=[mail])
    ex.add_argument("--log-dir", type=Path, default=Path(".run/logs"))
    ex.add_argument("--database-url", default=None, help="default: DATABASE_URL, else a payments_test database")
    ex.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    # here, not at the top: the commands' module imports this one
    from payments_tools.stack_commands import exec_command, run_command

    if args.command == "run":
        env, created = load_or_create(args.env_file)
        env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
        env.setdefault("WEBHOOK_ALLOWED_HTTP_HOSTS", LOCAL_WEBHOOK_HOSTS)
        raise SystemExit(
            asyncio.run(
                run_command(
                    env, args.env_file, created, pretty=not args.json_logs, mail_port=args.mail_port, scale=args.scale
                )
            )
        )

    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        parser.error("exec needs a command after --")
    env = exec_system_env((spec.url_var for spec in SERVICES), args.database_url)
    raise SystemExit(asyncio.run(exec_command(env, command, args.log_dir, args.mail_port, args.scale)))


if __name__ == "__main__":
    main()
