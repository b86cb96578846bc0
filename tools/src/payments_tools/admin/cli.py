"""`payments-admin`: the operator's console for dead letters, the outbox, reconciliation and anomalies.

    payments-admin dlq list [--queue Q] [--limit N] [--messages] [--json]
    payments-admin dlq show ID [--queue Q] [--json]
    payments-admin dlq requeue ID... | --queue Q | --reason R | --all [--dry-run] [--json]
    payments-admin dlq purge ID... | --queue Q | --reason R | --all [--dry-run] [--yes] [--json]
    payments-admin outbox status [--json]
    payments-admin reconcile [--older-than S] [--json]
    payments-admin anomalies list [--all] [--limit N] [--json]
    payments-admin merchant create --name NAME [--alert-email E] | list [--limit N] | show ID [--json]
    payments-admin key create MERCHANT_ID | list MERCHANT_ID | revoke KEY_ID [--json]
    payments-admin webhooks deliveries [--status S] [--merchant M] [--endpoint E] [--event E] [--limit N] [--json]
    payments-admin webhooks show DELIVERY_ID [--json]
    payments-admin webhooks redeliver DELIVERY_ID [--json]

`reconcile` and `anomalies` run payment-svc's own code with its settings from the same places
(`PAYMENT_SIGNING_SECRET`, `MOCK_GATEWAY_URL`, the thresholds), so they work while it is down;
`merchant` and `key` go through order-svc's admin API (`ORDER_SVC_URL`, `ADMIN_TOKEN`).
`DATABASE_URL` and `AMQP_URL` come from the environment, else from `./.env` (what `make run` writes),
else the defaults. Exit status: 0 done; 1 an operational failure (broker or database unreachable, a
message not requeued or purged, an id not found); 2 a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog

from payments_common import dlq
from payments_tools.admin.console import (
    EXIT_FAILED,
    EXIT_USAGE,
    PROG,
    OperationalError,
    Settings,
    UsageError,
    load_settings,
)
from payments_tools.admin.dead_letters import dlq_list, dlq_purge, dlq_requeue, dlq_show
from payments_tools.admin.merchants import (
    key_create,
    key_list,
    key_revoke,
    merchant_create,
    merchant_list,
    merchant_show,
)
from payments_tools.admin.reports import anomalies_list, outbox_status, reconcile
from payments_tools.admin.webhooks import webhook_deliveries, webhook_redeliver, webhook_show

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

    webhooks_parser = commands.add_parser("webhooks", help="webhooks to merchants, through merchant-webhooks' API")
    webhooks_commands = webhooks_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = _add(webhooks_commands, "deliveries", webhook_deliveries, "deliveries, their last attempt, newest first")
    listing.add_argument("--status", choices=("pending", "delivered", "failed"))
    listing.add_argument("--merchant", help="only this merchant's")
    listing.add_argument("--endpoint", help="only this endpoint's (whep_…)")
    listing.add_argument("--event", help="only this event's (evt_…)")
    listing.add_argument("--limit", type=_positive, default=25, help="at most N, up to 100 (default 25)")
    showing = _add(webhooks_commands, "show", webhook_show, "a delivery and every attempt of it")
    showing.add_argument("delivery_id", metavar="DELIVERY_ID")
    redelivering = _add(
        webhooks_commands, "redeliver", webhook_redeliver, "send a delivery again: a new series under the same event id"
    )
    redelivering.add_argument("delivery_id", metavar="DELIVERY_ID")

    merchant_parser = commands.add_parser("merchant", help="merchants, through order-svc's admin API")
    merchant_commands = merchant_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    creating = _add(merchant_commands, "create", merchant_create, "create a merchant (it has no key yet)")
    creating.add_argument("--name", required=True)
    creating.add_argument("--alert-email", help="where it is told that a webhook endpoint was disabled")
    listing = _add(merchant_commands, "list", merchant_list, "merchants, oldest first")
    listing.add_argument("--limit", type=_positive, default=100, help="at most N (default 100)")
    showing = _add(merchant_commands, "show", merchant_show, "a merchant and its keys")
    showing.add_argument("id", metavar="ID")

    key_parser = commands.add_parser("key", help="merchants' API keys, through order-svc's admin API")
    key_commands = key_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    creating = _add(key_commands, "create", key_create, "a new key for a merchant; its secret is printed once")
    creating.add_argument("merchant", metavar="MERCHANT_ID")
    listing = _add(key_commands, "list", key_list, "a merchant's keys (never their secrets)")
    listing.add_argument("merchant", metavar="MERCHANT_ID")
    revoking = _add(key_commands, "revoke", key_revoke, "revoke a key: refused everywhere within seconds")
    revoking.add_argument("key_id", metavar="KEY_ID")
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
