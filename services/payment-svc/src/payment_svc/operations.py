"""payment-svc's operations for operators' tools: the one entry point `payments-admin` uses.

Everything here runs in the caller's process, against the broker and the database directly, with
payment-svc's settings read from the caller's environment: so it works while payment-svc itself is
down. What the reconciler settles goes through payment-svc's outbox; its relay publishes it when it runs.

- `reconcile_once`: one pass of the reconciler (attempts and refunds), its report as JSON.
- `open_anomalies`: the anomalies, newest first, as the admin API lists them.
- `list_dead_letters`, `find_dead_letters`, `requeue`, `purge`: the dead-letter queues on the broker
  (read without losing anything; see `payment_svc.admin.dead_letters`).
- `outbox_status`: how far behind a service schema's outbox is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from pydantic import SecretStr

from payment_svc.admin.dead_letter_actions import Action, OperationResult, Outcome, purge, requeue
from payment_svc.admin.dead_letters import MAX_SCAN, Progress, list_dead_letters
from payment_svc.admin.dead_letters import find as find_dead_letters
from payment_svc.admin.outbox_status import outbox_status
from payment_svc.admin.repository import list_anomalies
from payment_svc.gateway.client import GatewayClient
from payment_svc.reconciliation.reconciler import Reconciler
from payment_svc.settings import SCHEMA, Settings
from payments_common import db
from payments_common.admin_api.payments import AnomalyView
from payments_common.openapi import dump
from payments_common.records import model_of

__all__ = [
    "MAX_SCAN",
    "Action",
    "OperationResult",
    "Outcome",
    "Progress",
    "find_dead_letters",
    "list_dead_letters",
    "open_anomalies",
    "outbox_status",
    "payment_settings",
    "purge",
    "reconcile_once",
    "requeue",
]


class ConsoleSettings(Settings):
    # the console runs the reconciler and never serves the internal API: it needs no token of its own
    INTERNAL_API_TOKEN: SecretStr = SecretStr("")


def payment_settings(env: Mapping[str, str]) -> Settings:
    """payment-svc's settings from `env` (fields it does not know are ignored); pydantic's ValidationError
    when one it needs is missing or invalid."""
    known = {name: value for name, value in env.items() if name in ConsoleSettings.model_fields}
    return ConsoleSettings(**known)  # type: ignore[arg-type]


async def reconcile_once(env: Mapping[str, str], older_than: float | None) -> dict[str, Any]:
    """One reconciliation pass with payment-svc's settings from `env`; `older_than` overrides the age an
    open attempt or a PENDING refund must reach. The report as the admin API answers it."""
    settings = payment_settings(env)
    pool = await db.create_pool(settings.DATABASE_URL, SCHEMA, 4)
    try:
        timeout = aiohttp.ClientTimeout(total=settings.GATEWAY_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            reconciler = Reconciler(
                pool,
                GatewayClient(session, settings.MOCK_GATEWAY_URL),
                settings.payment_signing_keys(),
                settings.reconcile_config(),
            )
            report = await reconciler.run_once(older_than=older_than)
        return report.to_json()
    finally:
        await pool.close()


async def open_anomalies(env: Mapping[str, str], *, include_resolved: bool, limit: int) -> list[dict[str, Any]]:
    """The anomalies (the open ones, or all), newest first, at most `limit`; only `DATABASE_URL` is needed."""
    database_url = env.get("DATABASE_URL") or Settings.model_fields["DATABASE_URL"].default
    pool = await db.create_pool(str(database_url), SCHEMA, 1)
    try:
        async with pool.acquire() as conn:
            rows = await list_anomalies(conn, include_resolved=include_resolved, limit=limit)
        return [dump(model_of(AnomalyView, row)) for row in rows]
    finally:
        await pool.close()
