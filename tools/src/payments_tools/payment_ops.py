"""payment-svc's operator actions for the console script: run the reconciler once, list anomalies.

They run in the operator's process against the same database and gateway as payment-svc, with its
settings read from the same environment, so they work while payment-svc itself is down. What the
reconciler settles goes through payment-svc's outbox; its relay publishes it when it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from pydantic import SecretStr

from payment_svc.admin import anomaly_json
from payment_svc.gateway_client import GatewayClient
from payment_svc.reconciler import Reconciler
from payment_svc.repository import list_anomalies
from payment_svc.settings import SCHEMA, Settings
from payments_common import db


class ConsoleSettings(Settings):
    # the console runs the reconciler and never serves the internal API: it needs no token of its own
    INTERNAL_API_TOKEN: SecretStr = SecretStr("")


def payment_settings(env: Mapping[str, str]) -> Settings:
    """payment-svc's settings from `env` (fields it does not know are ignored)."""
    known = {name: value for name, value in env.items() if name in ConsoleSettings.model_fields}
    return ConsoleSettings(**known)  # type: ignore[arg-type]


async def reconcile_once(env: Mapping[str, str], older_than: float | None) -> dict[str, Any]:
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
    database_url = env.get("DATABASE_URL") or Settings.model_fields["DATABASE_URL"].default
    pool = await db.create_pool(str(database_url), SCHEMA, 1)
    try:
        async with pool.acquire() as conn:
            rows = await list_anomalies(conn, include_resolved=include_resolved, limit=limit)
        return [anomaly_json(row) for row in rows]
    finally:
        await pool.close()
