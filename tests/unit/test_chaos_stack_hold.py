"""The stack's supervisor restarts a service that exits, except while `.run/hold/<name>` exists, and
starts it again once the hold file is gone. The services are stood in for by `sleep` processes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from payments_tools import stack as stack_module
from payments_tools.stack import SERVICES, Stack, hold_file


class SleepingStack(Stack):
    """A stack whose services are `sleep` processes, counting how often each was started."""

    def __init__(self) -> None:
        super().__init__({}, log_dir=None)
        self.spawned: dict[str, int] = {}

    async def _spawn(self, spec: stack_module.ServiceSpec) -> None:
        process = await asyncio.create_subprocess_exec("sleep", "60")
        self.processes[spec.name] = process
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        (self.pid_dir / f"{spec.name}.pid").write_text(f"{process.pid}\n")
        self.spawned[spec.name] = self.spawned.get(spec.name, 0) + 1


async def _eventually(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def test_a_held_service_stays_down_until_its_hold_file_is_removed(in_tmp: Path) -> None:
    stack = SleepingStack()
    for spec in SERVICES:
        await stack._spawn(spec)
    supervisor = asyncio.create_task(stack.supervise())
    try:
        held = "webhook-gateway"
        hold = hold_file(held)
        assert hold == Path(".run/hold/webhook-gateway")
        hold.parent.mkdir(parents=True)
        hold.touch()
        os.kill(stack.processes[held].pid, signal.SIGTERM)
        await _eventually(lambda: not (stack.pid_dir / f"{held}.pid").exists())
        await asyncio.sleep(1.0)  # twice the restart pause: a restart would have happened by now
        assert stack.spawned[held] == 1 and stack.processes[held].returncode is not None

        # another service is still restarted as usual meanwhile
        os.kill(stack.processes["payment-svc"].pid, signal.SIGKILL)
        await _eventually(lambda: stack.spawned["payment-svc"] == 2)

        hold.unlink()
        await _eventually(lambda: stack.spawned[held] == 2)
        assert stack.processes[held].returncode is None
        assert int((stack.pid_dir / f"{held}.pid").read_text()) == stack.processes[held].pid
        assert not supervisor.done()
    finally:
        supervisor.cancel()
        await stack.stop()


async def test_a_hold_does_not_count_towards_the_crash_loop_limit(in_tmp: Path) -> None:
    stack = SleepingStack()
    stack.restart_limit = 1
    for spec in SERVICES:
        await stack._spawn(spec)
    supervisor = asyncio.create_task(stack.supervise())
    try:
        hold = hold_file("mock-gateway")
        hold.parent.mkdir(parents=True)
        for round_ in range(1, 4):
            hold.touch()
            os.kill(stack.processes["mock-gateway"].pid, signal.SIGKILL)
            await _eventually(lambda: stack.processes["mock-gateway"].returncode is not None)
            await asyncio.sleep(0.3)
            hold.unlink()
            await _eventually(lambda r=round_: stack.spawned["mock-gateway"] == r + 1)
        assert not supervisor.done(), "held exits must not make the stack give up"
        # two plain exits inside the window exceed a limit of one: the supervisor gives up
        os.kill(stack.processes["order-svc"].pid, signal.SIGKILL)
        await _eventually(lambda: stack.spawned["order-svc"] == 2)
        os.kill(stack.processes["order-svc"].pid, signal.SIGKILL)
        assert await asyncio.wait_for(supervisor, 5) == "order-svc"
    finally:
        supervisor.cancel()
        await stack.stop()
