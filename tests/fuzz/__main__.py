"""`make fuzz`: the whole system on its own database and RabbitMQ vhost, schemathesis against it.

    python -m tests.fuzz [--keep] [pytest options…]

The fuzzer sends thousands of requests, and the webhooks it signs are accepted, published and then
dead-lettered by payment-svc (they name payments nobody created); so the run gets a database and a
vhost of its own (`payments_fuzz`), made afresh and removed afterwards (`--keep` leaves them for a
look). The system runs under `payments-stack exec` with short retry tiers and rate limits high
enough that the limits (tested on their own) do not turn the generated cases into 429s before they
reach the code under test. The budget is set by FUZZ_MAX_EXAMPLES and FUZZ_STATEFUL_EXAMPLES
(see conftest.py). Other runs of the system share the ports: take /tmp/payments-system.lock first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

NAME = "payments_fuzz"
PG_ADMIN_DSN = os.environ.get("TEST_DATABASE_ADMIN_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
BIN = Path(sys.executable).parent
HERE = Path(__file__).parent
LOG_DIR = Path(".run/fuzz-logs")
# the system's settings for the run: dead letters in seconds, rate limits out of the way
SYSTEM_ENV = {
    "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{NAME}",
    "AMQP_URL": f"amqp://guest:guest@127.0.0.1:5672/{NAME}",
    "RETRY_DELAYS_MS": "100,200,400",
    "API_RATE_PER_SECOND": "100000",
    "API_RATE_BURST": "100000",
    "WEBHOOK_RATE_PER_SECOND": "100000",
    "WEBHOOK_RATE_BURST": "100000",
    "WEBHOOK_UNVERIFIED_RATE_PER_SECOND": "100000",
    "WEBHOOK_UNVERIFIED_RATE_BURST": "100000",
    # generated requests with broken credentials must get their 401s, not 429s
    "AUTH_FAILURE_RATE_PER_SECOND": "100000",
    "AUTH_FAILURE_RATE_BURST": "100000",
    "AUTH_FAILURE_SOURCE_RATE_PER_SECOND": "100000",
    "AUTH_FAILURE_SOURCE_RATE_BURST": "100000",
    "WEBHOOK_REFUSAL_DELAY_SECONDS": "0",
}


def rabbitmqctl(*args: str) -> None:
    result = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0 and args[0] != "delete_vhost":  # deleting a vhost that is not there is fine
        raise SystemExit(f"fuzz: rabbitmqctl {' '.join(args)} failed: {result.stdout[-300:]}{result.stderr[-300:]}")


async def drop_database() -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    finally:
        await conn.close()


def reset() -> None:
    asyncio.run(drop_database())  # the services create it again, and migrate it
    rabbitmqctl("delete_vhost", NAME)
    rabbitmqctl("add_vhost", NAME)
    rabbitmqctl("set_permissions", "-p", NAME, "guest", ".*", ".*", ".*")


def remove() -> None:
    rabbitmqctl("delete_vhost", NAME)
    asyncio.run(drop_database())


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help=f"leave the {NAME} database and vhost afterwards")
    args, pytest_args = parser.parse_known_args()
    if shutil.which("rabbitmqctl") is None:
        raise SystemExit("fuzz: rabbitmqctl is not on PATH: it makes the run's own vhost")

    reset()
    print(f"fuzz: fresh database and vhost {NAME}; service logs in {LOG_DIR}", flush=True)
    started = time.monotonic()
    command = [
        str(BIN / "payments-stack"),
        "exec",
        "--log-dir",
        str(LOG_DIR),
        "--",
        str(BIN / "pytest"),
        "-q",
        "-p",
        "no:cacheprovider",
        str(HERE),
        *pytest_args,
    ]
    try:
        code = subprocess.run(command, env={**os.environ, **SYSTEM_ENV}, check=False).returncode
    finally:
        if not args.keep:
            remove()
    print(f"fuzz: finished in {time.monotonic() - started:.0f} s, exit status {code}", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
