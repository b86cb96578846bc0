"""`payments-stack run` in a fresh directory (no `.env`) with only the contract's secrets in the environment:
the internal tokens are generated, the environment's secrets are used as they are, and the system works.

The stack runs as `make run` runs it, in a subprocess, but beside any other system on this machine: on
free ports (each service listens on the port of its `*_URL`, the mail catcher on `--mail-port`), on a
throwaway database and a throwaway RabbitMQ vhost, in a temporary working directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from dotenv import dotenv_values
from yarl import URL

from payments_common.signatures import payment_signature

ADMIN_URL = URL(os.environ.get("TEST_DATABASE_ADMIN_URL") or "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = URL(os.environ.get("AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672/")
URL_VARIABLES = ("ORDER_SVC_URL", "WEBHOOK_GATEWAY_URL", "PAYMENT_SVC_URL", "MOCK_GATEWAY_URL", "CONSOLE_URL")
START_SECONDS = 45.0
STOP_SECONDS = 20.0

# the contract's three secrets, as a developer or a deployment would set them; no internal token
API_KEY = ("rzp_test_fromenv", "key-secret-from-the-environment-0123")
PAYMENT_SIGNING_SECRET = "5e" * 32
WEBHOOK_SECRETS = "whsec_" + "ZnJvbS10aGUtZW52aXJvbm1lbnQtMDEyMzQ1Njc4OQ=="


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def vhost_amqp_url() -> Iterator[str]:
    """A vhost of its own: the stack's consumers must not take messages from another system's queues."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed: no throwaway vhost for the stack's consumers")
    vhost = f"it_stack_{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, AMQP_URL.user or "guest", ".*", ".*", ".*")
        yield str(AMQP_URL.with_path("/" + vhost))
    finally:
        _rabbitmqctl("delete_vhost", vhost)


async def _drop_database(name: str) -> None:
    conn = await asyncpg.connect(str(ADMIN_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def database_url() -> Iterator[str]:
    """A database name nobody uses; payments-stack creates it when it migrates, the test drops it."""
    name = f"payments_it_stack_{uuid.uuid4().hex[:12]}"
    yield str(ADMIN_URL.with_path("/" + name))
    asyncio.run(_drop_database(name))


def _stop(process: subprocess.Popen[bytes], workdir: Path) -> int | None:
    """SIGTERM, as Ctrl-C would; the services of a stack that did not stop in time are killed by their pids."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        for pid_file in (workdir / ".run" / "pids").glob("*.pid"):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
        return None


def _wait_healthy(process: subprocess.Popen[bytes], urls: dict[str, str], output: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    pending = dict(urls)
    with httpx.Client(timeout=2) as client:
        while pending:
            if process.poll() is not None:
                pytest.fail(f"payments-stack exited with {process.returncode}:\n{output.read_text()[-3000:]}")
            for name, url in list(pending.items()):
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{url}/readyz").status_code == 200:
                        del pending[name]
            if time.monotonic() > deadline:
                pytest.fail(f"{', '.join(pending)} did not answer in time:\n{output.read_text()[-3000:]}")
            time.sleep(0.2)


def test_the_stack_runs_on_the_contracts_secrets_from_the_environment_alone(
    tmp_path: Path, database_url: str, vhost_amqp_url: str
) -> None:
    *service_ports, mail_port = _free_ports(len(URL_VARIABLES) + 1)
    urls = {name: f"http://127.0.0.1:{port}" for name, port in zip(URL_VARIABLES, service_ports, strict=True)}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "API_KEYS": ":".join(API_KEY),
        "PAYMENT_SIGNING_SECRET": PAYMENT_SIGNING_SECRET,
        "WEBHOOK_SECRETS": WEBHOOK_SECRETS,
        "DATABASE_URL": database_url,
        "AMQP_URL": vhost_amqp_url,
        **urls,
    }
    stack = str(Path(sys.executable).parent / "payments-stack")
    output = tmp_path / "stack.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [stack, "run", "--json-logs", "--mail-port", str(mail_port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(process, urls, output)

        # the internal tokens were generated into a new .env, and nothing else was written there
        env_file = tmp_path / ".env"
        written = dotenv_values(env_file)
        assert set(written) == {"ADMIN_TOKEN", "INTERNAL_API_TOKEN", "KEY_SEALING_KEY"}
        assert all(written.values())
        assert env_file.stat().st_mode & 0o077 == 0

        api = httpx.Client(base_url=urls["ORDER_SVC_URL"], auth=API_KEY, timeout=15)
        assert api.get("/orders/order_unknown").status_code == 404  # the key is accepted
        wrong = httpx.Client(base_url=urls["ORDER_SVC_URL"], auth=(API_KEY[0], "wrong"), timeout=15)
        assert wrong.get("/orders/order_unknown").status_code == 401

        r = api.post("/orders", json={"amount": 1500, "currency": "INR"})
        assert r.status_code == 201, r.text
        order_id = r.json()["orderId"]
        # order-svc reaches payment-svc with the generated INTERNAL_API_TOKEN; the gateway signs with the
        # environment's PAYMENT_SIGNING_SECRET, as it is
        r = api.post("/payments/initiate", json={"orderId": order_id})
        assert r.status_code == 201, r.text
        payment = r.json()
        expected = payment_signature(PAYMENT_SIGNING_SECRET.encode(), order_id, payment["gatewayPaymentId"])
        assert payment["signature"] == expected
        # the gateway's webhook verifies with the environment's WEBHOOK_SECRETS and settles the order
        deadline = time.monotonic() + 15
        while (status := api.get(f"/orders/{order_id}").json()["status"]) != "PAID":
            assert time.monotonic() < deadline, f"order stayed {status}"
            time.sleep(0.1)

        admin_token = written["ADMIN_TOKEN"]
        admin = httpx.Client(base_url=urls["PAYMENT_SVC_URL"], timeout=15)
        assert admin.get("/admin/outbox", headers={"Authorization": f"Bearer {admin_token}"}).status_code == 200
        assert admin.get("/admin/outbox").status_code == 401
    finally:
        code = _stop(process, tmp_path)
    assert code == 0, output.read_text()[-3000:]
    log = output.read_text()
    assert "payments-stack: all services stopped" in log
    # the banner says where the secrets came from, and no secret of the environment is printed but the dev key
    assert "API_KEYS, PAYMENT_SIGNING_SECRET, WEBHOOK_SECRETS from the environment" in log
    assert PAYMENT_SIGNING_SECRET not in log and WEBHOOK_SECRETS not in log
    # the console is the fifth service, with a dev operator whose fresh password the banner shows
    assert f"operators' console       {urls['CONSOLE_URL']}" in log
    assert "console sign-in          admin / " in log
