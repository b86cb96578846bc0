"""`payments-stack run` and `payments-stack exec`: the two commands, over `payments_tools.stack.Stack`."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from payments_common.config import DEFAULT_DATABASE_URL
from payments_tools import mail_catcher
from payments_tools.migrate_cli import migrate_all
from payments_tools.stack import RUN_DIR, SERVICES, Stack
from payments_tools.stack_env import banner, exec_env, instances_line, use_mail_catcher
from payments_tools.stack_scale import service_port


async def run_command(
    env: dict[str, str], env_file: Path, created: bool, pretty: bool, mail_port: int, scale: int = 1
) -> int:
    await migrate_all(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    mail_dir = mail_catcher.MAIL_DIR if use_mail_catcher(env, mail_port) else None
    stack = Stack(env, log_dir=None, pretty=pretty, mail_dir=mail_dir, mail_port=mail_port, scale=scale)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stack.start()
        urls = {spec.name: f"http://127.0.0.1:{service_port(env, spec)}" for spec in SERVICES}
        print(banner(env, urls, env_file, created, mail_dir, stack.console_password), flush=True)
        if scale > 1:
            print(instances_line(stack.instances), flush=True)
        supervisor = asyncio.create_task(stack.supervise())
        stop_task = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait({supervisor, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        if supervisor in done:
            print(f"payments-stack: {supervisor.result()} keeps exiting; stopping everything", file=sys.stderr)
            return 1
        supervisor.cancel()
        print("\npayments-stack: stopping …", flush=True)
        return 0
    finally:
        await stack.stop()
        print("payments-stack: all services stopped", flush=True)


async def exec_command(env: dict[str, str], command: list[str], log_dir: Path, mail_port: int, scale: int = 1) -> int:
    await migrate_all(env["DATABASE_URL"])
    mail_dir = mail_catcher.MAIL_DIR if use_mail_catcher(env, mail_port) else None
    stack = Stack(env, log_dir=log_dir, mail_dir=mail_dir, mail_port=mail_port, scale=scale)
    # each exec's logs hold its own run only: the command may check them (tests.security.log_secrets); a
    # run at another scale had other processes, whose logs go too
    for old_log in log_dir.glob("*.log"):
        old_log.unlink(missing_ok=True)
    if mail_dir is not None:
        # and its mail: the command may count what arrived
        for old in mail_dir.glob("*.eml"):
            old.unlink(missing_ok=True)
    try:
        await stack.start()
        api_url = f"http://127.0.0.1:{service_port(env, SERVICES[0])}"
        webhook_url = f"http://127.0.0.1:{service_port(env, SERVICES[1])}"
        child_env = exec_env(env, api_url, webhook_url, RUN_DIR, stack.console_password)
        # the command may find each instance (its port, pid and log) through payments_tools.stack_scale.plan
        child_env["PAYMENTS_SCALE"] = str(scale)
        if mail_dir is not None:
            child_env["MAIL_DIR"] = str(mail_dir.resolve())
        print(f"payments-stack: system up (logs in {log_dir}); running: {' '.join(command)}", flush=True)
        supervisor = asyncio.create_task(stack.supervise())
        process = await asyncio.create_subprocess_exec(*command, env=child_env)
        code = await process.wait()
        if supervisor.done() and supervisor.result():
            print(f"payments-stack: {supervisor.result()} kept exiting during the run", file=sys.stderr)
            code = code or 1
        supervisor.cancel()
        return code
    finally:
        await stack.stop()
