"""`payments-admin outbox status`, `reconcile` and `anomalies list`: the outboxes' backlog, and payment-svc's
reconciliation and anomalies, run here with payment-svc's settings (so they work while it is down)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pydantic import ValidationError

from payment_svc import operations
from payments_tools.admin.console import (
    DATABASE_ERRORS,
    EXIT_FAILED,
    EXIT_OK,
    PROG,
    OperationalError,
    Settings,
    UsageError,
    age,
    clip,
    database_connection,
    describe,
    print_json,
    table,
)
from payments_tools.migrate_cli import SCHEMAS

# every schema built with the common library's migrations has an outbox
OUTBOX_SCHEMAS: tuple[str, ...] = tuple(schema for schema, parts in SCHEMAS.items() if "payments_common" in parts)


async def outbox_status(args: argparse.Namespace, settings: Settings) -> int:
    async with database_connection(settings) as conn:
        statuses = [await operations.outbox_status(conn, schema) for schema in OUTBOX_SCHEMAS]
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
                    (schema, r["id"], r["event_type"], r["attempts"], r["next_attempt_at"], clip(r["last_error"]))
                    for schema, r in failing
                ],
            )
        )
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------
# Reconciliation and anomalies (payment-svc's, run here with its settings)


def _settled(subject: tuple[str, str], parent: tuple[str, str], settled: list[dict[str, Any]]) -> None:
    """The settled rows of a reconciliation report (payments or refunds) as a table, after a blank line."""
    if settled:
        print()
        headers = [subject[0], parent[0], "STATUS", "ERROR CODE", "SOURCE"]
        keys = (subject[1], parent[1], "status", "errorCode", "source")
        print(table(headers, [tuple(s[key] for key in keys) for s in settled]))


async def reconcile(args: argparse.Namespace, settings: Settings) -> int:
    try:
        report = await operations.reconcile_once(settings.env, args.older_than)
    except ValidationError as exc:
        names = ", ".join(sorted({str(error["loc"][0]) for error in exc.errors(include_input=False)}))
        raise UsageError(f"payment-svc settings are incomplete or invalid: {names}") from None
    except DATABASE_ERRORS as exc:
        raise OperationalError(f"reconciliation failed: {describe(exc, settings.database_url)}") from None
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
    _settled(("PAYMENT", "paymentId"), ("ORDER", "orderId"), report["settled"])
    _settled(("REFUND", "refundId"), ("PAYMENT", "paymentId"), refunds["settled"])
    for error in report["errors"]:
        # a refund's error names the refund as well as its payment
        subject = " ".join(filter(None, (error["paymentId"], error.get("refundId"))))
        print(f"{PROG}: {subject}: {error['error']}", file=sys.stderr)
    return EXIT_OK if not report["errors"] else EXIT_FAILED


async def anomalies_list(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rows = await operations.open_anomalies(settings.env, include_resolved=args.all, limit=args.limit)
    except DATABASE_ERRORS as exc:
        raise OperationalError(f"cannot read anomalies: {describe(exc, settings.database_url)}") from None
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
