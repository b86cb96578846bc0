"""`payments-admin`: the operator's console for dead letters, the outbox, reconciliation and anomalies.

    payments-admin dlq list [--queue Q] [--limit N] [--messages] [--json]
    payments-admin dlq show ID [--queue Q] [--json]
    payments-admin dlq requeue ID... | --queue Q | --reason R | --all [--dry-run] [--json]
    payments-admin dlq purge ID... | --queue Q | --reason R | --all [--dry-run] [--yes] [--json]
    payments-admin outbox status [--json]
    payments-admin reconcile [--older-than S] [--json]
    payments-admin anomalies list [--all] [--limit N] [--json]

`reconcile` and `anomalies` run payment-svc's own code with its settings from the same places
(`PAYMENT_SIGNING_SECRET`, `MOCK_GATEWAY_URL`, the thresholds), so they work while it is down.
`DATABASE_URL` and `AMQP_URL` come from the environment, else from `./.env` (what `make run` writes),
else the defaults. Exit status: 0 done; 1 an operational failure (broker or database unreachable, a
message not requeued or purged, an id not found); 2 a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import orjson
import structlog
from aio_pika.abc import AbstractRobustConnection
from dotenv import dotenv_values
from pydantic import ValidationError
from yarl import URL

from payments_common import broker, dlq
from payments_common.config import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL
from payments_common.outbox_status import outbox_status as outbox_status_of
from payments_common.timeutil import iso
from payments_tools import payment_ops
from payments_tools.migrate_cli import SCHEMAS

PROG = "payments-admin"
CONNECT_TIMEOUT_SECONDS = 10.0
# every schema built with the common library's migrations has an outbox
OUTBOX_SCHEMAS: tuple[str, ...] = tuple(schema for schema, parts in SCHEMAS.items() if "payments_common" in parts)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line asks for something that cannot be done as asked (exit 2)."""


class OperationalError(Exception):
    """The broker or the database failed us (exit 1); the message is one line, with no secret."""


# ---------------------------------------------------------------------------------------------------
# Configuration and connections


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


def _describe(exc: BaseException, url: str) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    with contextlib.suppress(TypeError, ValueError):
        password = URL(url).password
        if password:
            text = text.replace(password, "***")
    return text.splitlines()[0] if text else type(exc).__name__


# what a lost or refused connection raises; anything else is a bug and keeps its traceback
BROKER_ERRORS = (aio_pika.exceptions.AMQPError, OSError, TimeoutError, ConnectionError)
DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError, ConnectionError)


@contextlib.asynccontextmanager
async def broker_connection(settings: Settings) -> AsyncIterator[AbstractRobustConnection]:
    url = settings.amqp_url
    try:
        connection = await asyncio.wait_for(broker.connect(url, retry=False), CONNECT_TIMEOUT_SECONDS)
    except (*BROKER_ERRORS, ValueError) as exc:
        raise OperationalError(f"cannot reach RabbitMQ at {redact(url)}: {_describe(exc, url)}") from None
    try:
        yield connection
    except BROKER_ERRORS as exc:
        raise OperationalError(f"RabbitMQ at {redact(url)} failed: {_describe(exc, url)}") from None
    finally:
        with contextlib.suppress(Exception):
            await connection.close()


@contextlib.asynccontextmanager
async def database_connection(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    url = settings.database_url
    try:
        conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_SECONDS)
    except (*DATABASE_ERRORS, ValueError) as exc:
        raise OperationalError(f"cannot reach PostgreSQL at {redact(url)}: {_describe(exc, url)}") from None
    try:
        yield conn
    except DATABASE_ERRORS as exc:
        raise OperationalError(f"PostgreSQL at {redact(url)} failed: {_describe(exc, url)}") from None
    finally:
        with contextlib.suppress(Exception):
            await conn.close()


# ---------------------------------------------------------------------------------------------------
# Output: JSON for machines, aligned plain-text tables for people


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns aligned with two spaces between them; numbers right-aligned, `-` for nothing."""
    raw = [list(row) for row in rows]
    cells = [[_cell(value) for value in row] for row in raw]
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


def _clip(text: str | None, width: int = 60) -> str | None:
    if text is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def progress_reporter(args: argparse.Namespace) -> dlq.Progress | None:
    """Progress lines on stderr, so stdout stays the command's answer; only when someone watches."""
    if not (getattr(args, "progress", False) or sys.stderr.isatty()):
        return None

    def report(step: str, done: int, total: int) -> None:
        print(f"{step}: {done}/{total}", file=sys.stderr, flush=True)

    return report


# ---------------------------------------------------------------------------------------------------
# dlq


def _queues_table(states: Sequence[dlq.QueueState]) -> str:
    return table(
        ["DEAD-LETTER QUEUE", "MESSAGES", "SCANNED"],
        [(s.queue if s.exists else f"{s.queue} (not declared)", s.messages, s.scanned) for s in states],
    )


async def dlq_list(args: argparse.Namespace, settings: Settings) -> int:
    async with broker_connection(settings) as connection:
        listing = await dlq.list_dead_letters(
            connection, [args.queue] if args.queue else None, limit=args.limit, progress=progress_reporter(args)
        )
    if args.json:
        print_json(listing.to_json(messages=args.messages))
        return EXIT_OK
    groups = dlq.summarize(listing.letters)
    print(_queues_table(listing.queues))
    if listing.truncated:
        print("(partial: not every message was read; raise --limit to see more)")
    print()
    if not groups:
        print("no dead letters")
        return EXIT_OK
    print(
        table(
            ["ORIGIN QUEUE", "REASON", "COUNT", "OLDEST"],
            [(g.origin_queue, g.reason, g.count, age(g.oldest_age_seconds)) for g in groups],
        )
    )
    if args.messages:
        print()
        print(
            table(
                ["ID", "ORIGIN QUEUE", "REASON", "ATTEMPTS", "AGE", "REQUEUED", "ERROR"],
                [
                    (
                        letter.id or None,
                        letter.origin_queue,
                        letter.reason,
                        letter.attempts,
                        age(letter.age_seconds),
                        letter.requeue_count,
                        _clip(letter.error),
                    )
                    for letter in listing.letters
                ],
            )
        )
    return EXIT_OK


def _print_letter(letter: dlq.DeadLetter) -> None:
    shown = letter.to_json(include_body=True)
    headers, body, encoding = shown.pop("headers"), shown.pop("body"), shown.pop("body_encoding")
    width = max(len(key) for key in shown)
    for key, value in shown.items():
        print(f"{key.ljust(width)}  {_cell(value)}")
    print("headers:")
    for key in sorted(headers):
        print(f"  {key}: {orjson.dumps(headers[key]).decode()}")
    print(f"body ({encoding}):")
    text = orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() if encoding == "json" else body
    print("\n".join(f"  {line}" for line in text.splitlines()))


async def dlq_show(args: argparse.Namespace, settings: Settings) -> int:
    async with broker_connection(settings) as connection:
        letters = await dlq.find(
            connection, args.id, [args.queue] if args.queue else None, progress=progress_reporter(args)
        )
    if args.json:
        print_json({"messages": [letter.to_json(include_body=True) for letter in letters]})
    for n, letter in enumerate([] if args.json else letters):
        if n:
            print()
        _print_letter(letter)
    if not letters:
        print(f"{PROG}: no dead letter with id {args.id!r}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _selector(args: argparse.Namespace) -> dlq.Selector:
    if not (args.ids or args.queue or args.reason or args.all):
        raise UsageError("say which dead letters: message ids, --queue Q, --reason R, or --all")
    if args.all and (args.ids or args.reason):
        raise UsageError("--all does not combine with message ids or --reason")
    return dlq.Selector(ids=frozenset(args.ids), queue=args.queue, reason=args.reason, all=args.all)


def _print_result(result: dlq.OperationResult) -> None:
    if result.outcomes:
        print(
            table(
                ["ID", "ORIGIN QUEUE", "REASON", "STATUS", "ERROR"],
                [(o.id or None, o.origin_queue, o.reason, o.status, o.error) for o in result.outcomes],
            )
        )
        print()
    verb = {"requeue": "requeued", "purge": "purged"}[result.action]
    scanned = sum(state.scanned for state in result.queues)
    if result.dry_run:
        print(f"dry run: would have {verb} {len(result.outcomes)} of {scanned} dead letters read; nothing changed")
    else:
        done = len(result.outcomes) - len(result.failed)
        print(f"{verb} {done} of {len(result.outcomes)} selected ({scanned} dead letters read)")
    if result.failed:
        print(f"{len(result.failed)} failed and are still in their dead-letter queue")
    for missing in result.missing_ids:
        print(f"not found: {missing}")
    if any(state.truncated for state in result.queues):
        print(f"(a queue holds more than {dlq.MAX_SCAN} messages: run again for the rest)")


async def _operate(args: argparse.Namespace, settings: Settings, action: dlq.Action) -> int:
    selector = _selector(args)
    operation = dlq.requeue if action == "requeue" else dlq.purge
    async with broker_connection(settings) as connection:
        result = await operation(connection, selector, dry_run=args.dry_run, progress=progress_reporter(args))
    if args.json:
        print_json(result.to_json())
    else:
        _print_result(result)
    return EXIT_OK if result.ok else EXIT_FAILED


async def dlq_requeue(args: argparse.Namespace, settings: Settings) -> int:
    return await _operate(args, settings, "requeue")


async def dlq_purge(args: argparse.Namespace, settings: Settings) -> int:
    if not args.dry_run and not args.yes:
        # checked before connecting: a refused purge touches nothing
        _selector(args)
        raise UsageError(
            "purge drops dead letters for good: add --yes to confirm, or --dry-run to see what it would drop"
        )
    return await _operate(args, settings, "purge")


# ---------------------------------------------------------------------------------------------------
# outbox


async def outbox_status(args: argparse.Namespace, settings: Settings) -> int:
    async with database_connection(settings) as conn:
        statuses = [await outbox_status_of(conn, schema) for schema in OUTBOX_SCHEMAS]
    if args.json:
        print_json({"schemas": statuses})
        return EXIT_OK
    print(
        table(
            ["SCHEMA", "UNPUBLISHED", "OLDEST", "RETRYING", "PUBLISHED LAST MINUTE"],
            [
                (
                    s["schema"],
                    s["unpublished"],
                    age(s["oldest_unpublished_age_seconds"]),
                    s["retrying"],
                    s["published_last_minute"],
                )
                if s["exists"]
                else (f"{s['schema']} (not migrated)", None, None, None, None)
                for s in statuses
            ],
        )
    )
    failing = [(s["schema"], row) for s in statuses for row in s.get("retrying_rows", [])]
    if failing:
        print()
        print(
            table(
                ["SCHEMA", "ID", "EVENT", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR"],
                [
                    (schema, r["id"], r["event_type"], r["attempts"], r["next_attempt_at"], _clip(r["last_error"]))
                    for schema, r in failing
                ],
            )
        )
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------
# Reconciliation and anomalies (payment-svc's, run here with its settings)


async def reconcile(args: argparse.Namespace, settings: Settings) -> int:
    try:
        report = await payment_ops.reconcile_once(settings.env, args.older_than)
    except ValidationError as exc:
        names = ", ".join(sorted({str(error["loc"][0]) for error in exc.errors(include_input=False)}))
        raise UsageError(f"payment-svc settings are incomplete or invalid: {names}") from None
    except DATABASE_ERRORS as exc:
        raise OperationalError(f"reconciliation failed: {_describe(exc, settings.database_url)}") from None
    if args.json:
        print_json(report)
        return EXIT_OK
    print(
        f"checked {report['checked']} open attempt(s): {len(report['settled'])} settled, "
        f"{report['stillPending']} still pending, {len(report['errors'])} gateway error(s); "
        f"{len(report['republished'])} SUCCESS event(s) published again"
    )
    refunds = report["refunds"]
    print(
        f"checked {refunds['checked']} pending refund(s): {len(refunds['settled'])} settled, "
        f"{refunds['stillPending']} still pending, {len(refunds['resent'])} sent to the gateway again"
    )
    if report["settled"]:
        print()
        print(
            table(
                ["PAYMENT", "ORDER", "STATUS", "ERROR CODE", "SOURCE"],
                [(s["paymentId"], s["orderId"], s["status"], s["errorCode"], s["source"]) for s in report["settled"]],
            )
        )
    if refunds["settled"]:
        print()
        print(
            table(
                ["REFUND", "PAYMENT", "STATUS", "ERROR CODE", "SOURCE"],
                [(s["refundId"], s["paymentId"], s["status"], s["errorCode"], s["source"]) for s in refunds["settled"]],
            )
        )
    for error in report["errors"]:
        # a refund's error names the refund as well as its payment
        subject = " ".join(filter(None, (error["paymentId"], error.get("refundId"))))
        print(f"{PROG}: {subject}: {error['error']}", file=sys.stderr)
    return EXIT_OK if not report["errors"] else EXIT_FAILED


async def anomalies_list(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rows = await payment_ops.open_anomalies(settings.env, include_resolved=args.all, limit=args.limit)
    except DATABASE_ERRORS as exc:
        raise OperationalError(f"cannot read anomalies: {_describe(exc, settings.database_url)}") from None
    if args.json:
        print_json({"anomalies": rows})
        return EXIT_OK
    if not rows:
        print("no open anomalies")
        return EXIT_OK
    print(
        table(
            ["ID", "KIND", "PAYMENT", "ORDER", "SOURCE", "EVENT", "AT"],
            [
                (r["id"], r["kind"], r["paymentId"], r["orderId"], r["source"], r["eventId"], r["createdAt"])
                for r in rows
            ],
        )
    )
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------
# The command line

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def _json_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="machine-readable output")
    return parent


def _scan_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--progress", action="store_true", help="report progress on stderr (default: on a terminal)")
    return parent


def _selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID", help="message ids (event ids)")
    parser.add_argument("--queue", help="only this work queue's dead letters (Q or Q.dlq)")
    parser.add_argument(
        "--reason", help="only this reason; UNKNOWN_PAYMENT also finds RETRIES_EXHAUSTED:UNKNOWN_PAYMENT"
    )
    parser.add_argument("--all", action="store_true", help="every dead letter (of --queue, if given)")
    parser.add_argument("--dry-run", action="store_true", help="report what would happen, change nothing")


def _add(
    group: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    command: Command,
    help_text: str,
    *parents: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """A subcommand that runs `command`; every one answers in JSON with --json."""
    parser = group.add_parser(name, help=help_text, description=help_text, parents=[_json_option(), *parents])
    parser.set_defaults(command=command)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Operator console: dead letters, the outbox, reconciliation, anomalies."
    )
    commands = parser.add_subparsers(dest="area", required=True, metavar="COMMAND")

    dlq_parser = commands.add_parser("dlq", help="dead-letter queues: list, show, requeue, purge")
    dlq_commands = dlq_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = _add(dlq_commands, "list", dlq_list, "dead letters grouped by origin queue and reason", _scan_options())
    listing.add_argument("--queue", help="only this work queue's dead letters (Q or Q.dlq)")
    listing.add_argument("--limit", type=_positive, help="read at most N messages")
    listing.add_argument("--messages", action="store_true", help="one line per message as well")
    show = _add(dlq_commands, "show", dlq_show, "headers and body of the dead letters with this id", _scan_options())
    show.add_argument("id", metavar="ID")
    show.add_argument("--queue", help="only look in this work queue's dead letters")
    requeue = _add(
        dlq_commands, "requeue", dlq_requeue, "publish dead letters back to their origin queue", _scan_options()
    )
    _selection_options(requeue)
    purge = _add(dlq_commands, "purge", dlq_purge, "drop dead letters for good (needs --yes)", _scan_options())
    _selection_options(purge)
    purge.add_argument("--yes", action="store_true", help="confirm dropping them")

    outbox_parser = commands.add_parser("outbox", help="the services' transactional outboxes")
    outbox_commands = outbox_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add(outbox_commands, "status", outbox_status, "unpublished and failing outbox rows per service schema")

    reconciling = _add(commands, "reconcile", reconcile, "run payment-svc's reconciler once and print what it settled")
    reconciling.add_argument(
        "--older-than",
        type=float,
        metavar="S",
        help="check open attempts older than S seconds (default: RECONCILE_AFTER_SECONDS)",
    )

    anomalies_parser = commands.add_parser("anomalies", help="reports that contradict a settled payment")
    anomalies_commands = anomalies_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = _add(anomalies_commands, "list", anomalies_list, "open anomalies, newest first")
    listing.add_argument("--all", action="store_true", help="resolved ones too")
    listing.add_argument("--limit", type=_positive, default=100, help="at most N (default 100)")
    return parser


def _quiet_library_logs() -> None:
    # stdout is the command's answer; the library's own log lines go to stderr, errors only, and the
    # AMQP client's reconnect narration not at all (a failure is reported once, as one line)
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
    )
    for name in ("aio_pika", "aiormq"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_library_logs()
    settings = load_settings()
    command: Command = args.command
    try:
        return asyncio.run(command(args, settings))
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except dlq.UnknownQueueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OperationalError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        # held dead letters go back to their queues when the connection closes
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
