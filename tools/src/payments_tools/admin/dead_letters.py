"""`payments-admin dlq ...`: list, show, requeue and purge dead letters, through payment-svc's operations."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import orjson

from payment_svc import operations
from payments_common import dlq
from payments_tools.admin.console import (
    EXIT_FAILED,
    EXIT_OK,
    PROG,
    Settings,
    UsageError,
    age,
    broker_connection,
    cell,
    clip,
    print_json,
    progress_reporter,
    table,
)


def _queues_table(states: Sequence[dlq.QueueState]) -> str:
    return table(
        ["DEAD-LETTER QUEUE", "MESSAGES", "SCANNED"],
        [(s.queue if s.exists else f"{s.queue} (not declared)", s.messages, s.scanned) for s in states],
    )


async def dlq_list(args: argparse.Namespace, settings: Settings) -> int:
    async with broker_connection(settings) as connection:
        listing = await operations.list_dead_letters(
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
                        clip(letter.error),
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
        print(f"{key.ljust(width)}  {cell(value)}")
    print("headers:")
    for key in sorted(headers):
        print(f"  {key}: {orjson.dumps(headers[key]).decode()}")
    print(f"body ({encoding}):")
    text = orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() if encoding == "json" else body
    print("\n".join(f"  {line}" for line in text.splitlines()))


async def dlq_show(args: argparse.Namespace, settings: Settings) -> int:
    async with broker_connection(settings) as connection:
        letters = await operations.find_dead_letters(
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


def _print_result(result: operations.OperationResult) -> None:
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
        print(f"(a queue holds more than {operations.MAX_SCAN} messages: run again for the rest)")


async def _operate(args: argparse.Namespace, settings: Settings, action: operations.Action) -> int:
    selector = _selector(args)
    operation = operations.requeue if action == "requeue" else operations.purge
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
