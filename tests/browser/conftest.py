"""The browser tier: Playwright driving Debian's chromium (`scripts/ensure-chromium.sh`) against the
operators' console.

Two ways to run: under `payments-stack exec` (CONSOLE_URL, CONSOLE_OPERATOR and CONSOLE_PASSWORD in the
environment), against the whole system, where every test runs; or alone, where the tier starts a console of
its own on a throwaway database with no service behind it, and the tests that need the services skip.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from yarl import URL

from payments_common.db import ensure_database
from payments_common.migrate import load_migrations, migrate
from payments_console.auth.domain import hash_password

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).parent
IMAGES = HERE.parent.parent / "docs" / "images"
T = TypeVar("T")
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@dataclass(frozen=True, slots=True)
class Console:
    url: str
    operator: str
    password: str
    database_url: str
    # True when the whole system runs behind it (payments-stack exec), False for a console alone
    system: bool


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """A coroutine run to its end on a thread of its own: Playwright's sync API keeps an event loop
    running on this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"payments-console exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"payments-console did not answer at {url}:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    if os.environ.get("CONSOLE_URL") and os.environ.get("CONSOLE_PASSWORD"):
        yield Console(
            url=os.environ["CONSOLE_URL"].rstrip("/"),
            operator=os.environ.get("CONSOLE_OPERATOR", "admin"),
            password=os.environ["CONSOLE_PASSWORD"],
            database_url=os.environ["DATABASE_URL"],
            system=True,
        )
        return
    admin = URL(os.environ.get("TEST_DATABASE_ADMIN_URL") or DEFAULT_ADMIN_URL)
    name = f"payments_browser_{uuid.uuid4().hex[:12]}"
    dsn = str(admin.with_path(f"/{name}"))

    async def create() -> None:
        await ensure_database(dsn)
        await migrate(dsn, "console", load_migrations("payments_console"))

    run_async(create())
    password = secrets.token_urlsafe(16)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("console") / "console.log"
    unreachable = f"http://127.0.0.1:{_free_port()}"
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "CONSOLE_URL": url,
        "CONSOLE_OPERATORS": f"admin:{hash_password(password)}",
        "CONSOLE_COOKIE_SECURE": "false",
        "ADMIN_TOKEN": secrets.token_urlsafe(24),
        "ORDER_SVC_URL": unreachable,
        "PAYMENT_SVC_URL": unreachable,
        "WEBHOOK_GATEWAY_URL": unreachable,
        "MOCK_GATEWAY_URL": unreachable,
        "ADMIN_API_TIMEOUT_SECONDS": "2",
    }
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "payments_console"], env=env, stdout=out, stderr=out)
    try:
        _wait_until_up(url, process, log)
        yield Console(url=url, operator="admin", password=password, database_url=dsn, system=False)
    finally:
        process.terminate()
        process.wait(10)

        async def drop() -> None:
            conn = await asyncpg.connect(str(admin))
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        run_async(drop())


@pytest.fixture(scope="session")
def system(console: Console) -> Console:
    if not console.system:
        pytest.skip("needs the whole system: run this tier through `make browser` (payments-stack exec)")
    return console


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: scripts/ensure-chromium.sh installs it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def login(page: Page, console: Console, password: str | None = None) -> None:
    page.goto(f"{console.url}/login")
    page.get_by_label("Operator name").fill(console.operator)
    page.get_by_label("Password").fill(password if password is not None else console.password)
    page.get_by_role("button", name="Sign in").click()
