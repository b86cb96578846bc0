"""What every `payments-admin` command shares: its settings and connections, its errors and exit codes,
and its output (JSON for machines, aligned plain-text tables for people)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aio_pika
import asyncpg
import orjson
from aio_pika.abc import AbstractRobustConnection
from dotenv import dotenv_values
from yarl import URL

from payment_svc import operations
from payments_common import broker
from payments_common.config import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL
from payments_common.timeutil import iso

PROG = "payments-admin"
CONNECT_TIMEOUT_SECONDS = 10.0

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line asks for something that cannot be done as asked (exit 2)."""


class OperationalError(Exception):
    """The broker or the database failed us (exit 1); the message is one line, with no secret."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    amqp_url: str
    # everything configured, for commands that build a service's own settings from it
    env: Mapping[str, str]


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path = Path(".env")) -> Settings:
    """The environment wins, then `.env` in the working directory, then the defaults."""
    environ = os.environ if environ is None else environ
    from_file = {k: v for k, v in dotenv_values(env_file).items() if v} if env_file.is_file() else {}
    env = {**from_file, **{k: v for k, v in environ.items() if v}}
    return Settings(
        database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        amqp_url=env.get("AMQP_URL", DEFAULT_AMQP_URL),
        env=env,
    )


def redact(url: str) -> str:
    """The URL as it may be shown: any password replaced."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        return "<unparseable URL>"
    return str(parsed.with_password("***")) if parsed.password else url


def describe(exc: BaseException, url: str) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    with contextlib.suppress(TypeError, ValueError):
        password = URL(url).password
        if password:
            text = text.replace(password, "***")
    return text.splitlines()[0] if text else type(exc).__name__


# what a lost or refused connection raises; anything else is a bug and keeps its traceback
BROKER_ERRORS = (aio_pika.exceptions.AMQPError, OSError, TimeoutError, ConnectionError)
DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError, ConnectionError)


class _Closable(Protocol):
    async def close(self) -> Any: ...


C = TypeVar("C", bound=_Closable)


@contextlib.asynccontextmanager
async def _connection(
    what: str, url: str, connect: Awaitable[C], errors: tuple[type[Exception], ...]
) -> AsyncIterator[C]:
    """The connection `connect` makes, closed at the end; a refused or lost one as an OperationalError that
    names `what` and the URL without its password."""
    refused: tuple[type[Exception], ...] = (*errors, ValueError)  # a malformed URL is refused too
    try:
        connection = await asyncio.wait_for(connect, CONNECT_TIMEOUT_SECONDS)
    except refused as exc:
        raise OperationalError(f"cannot reach {what} at {redact(url)}: {describe(exc, url)}") from None
    try:
        yield connection
    except errors as exc:
        raise OperationalError(f"{what} at {redact(url)} failed: {describe(exc, url)}") from None
    finally:
        with contextlib.suppress(Exception):
            await connection.close()


def broker_connection(settings: Settings) -> contextlib.AbstractAsyncContextManager[AbstractRobustConnection]:
    url = settings.amqp_url
    return _connection("RabbitMQ", url, broker.connect(url, retry=False), BROKER_ERRORS)


def database_connection(settings: Settings) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
    url = settings.database_url
    return _connection("PostgreSQL", url, asyncpg.connect(url, timeout=CONNECT_TIMEOUT_SECONDS), DATABASE_ERRORS)


def admin_answer(
    service: str, status: int, raw: bytes, usage_statuses: Collection[int], *, name_field: bool = False
) -> Any:
    """A service's admin API answer, decoded: its JSON (None for an empty or unreadable body), or, for an
    error, a UsageError where `status` is one of `usage_statuses` (the request was at fault, exit 2) and an
    OperationalError naming `service` otherwise. `name_field` adds the field at fault to a UsageError."""
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        data = None
    if status >= 400:
        error = data.get("error", {}) if isinstance(data, dict) else {}
        description = error.get("description") or f"HTTP {status}"
        if status in usage_statuses:
            field = f" ({error['field']})" if name_field and error.get("field") else ""
            raise UsageError(f"{description}{field}")
        raise OperationalError(f"{service} answered {status}: {description}")
    return data


# ---------------------------------------------------------------------------------------------------
# Output: JSON for machines, aligned plain-text tables for people


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n")


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns aligned with two spaces between them; numbers right-aligned, `-` for nothing."""
    raw = [list(row) for row in rows]
    cells = [[cell(value) for value in row] for row in raw]
    widths = [max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)]
    numeric = [bool(raw) and all(isinstance(row[i], int | float) for row in raw) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(row) for row in cells)])


def age(seconds: float | None) -> str | None:
    """`42s`, `3m05s`, `2h07m`, `4d03h`: how long ago, at a glance."""
    if seconds is None:
        return None
    whole = max(0, int(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def clip(text: str | None, width: int = 60) -> str | None:
    if text is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def progress_reporter(args: argparse.Namespace) -> operations.Progress | None:
    """Progress lines on stderr, so stdout stays the command's answer; only when someone watches."""
    if not (getattr(args, "progress", False) or sys.stderr.isatty()):
        return None

    def report(step: str, done: int, total: int) -> None:
        print(f"{step}: {done}/{total}", file=sys.stderr, flush=True)

    return report
