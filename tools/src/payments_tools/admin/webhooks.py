"""`payments-admin webhooks deliveries|show|redeliver`: the delivery log of webhooks to merchants, through
merchant-webhooks' admin API (`MERCHANT_WEBHOOKS_URL`, the bearer `ADMIN_TOKEN`), so that a redelivery is the
service's own doing (a new series of attempts under the same event id, made by its worker)."""

from __future__ import annotations

import argparse
from typing import Any

import aiohttp

from merchant_webhooks.settings import MERCHANT_WEBHOOKS_PORT
from payments_common.merchant_webhooks import Delivery, DeliveryList
from payments_tools.admin.console import (
    CONNECT_TIMEOUT_SECONDS,
    EXIT_OK,
    OperationalError,
    Settings,
    UsageError,
    admin_answer,
    clip,
    print_json,
    table,
)


async def _call(settings: Settings, method: str, path: str, query: dict[str, str] | None = None) -> Any:
    token = settings.env.get("ADMIN_TOKEN")
    if not token:
        raise UsageError("ADMIN_TOKEN is not set (in the environment or ./.env): the admin API needs it")
    base = settings.env.get("MERCHANT_WEBHOOKS_URL", f"http://127.0.0.1:{MERCHANT_WEBHOOKS_PORT}").rstrip("/")
    timeout = aiohttp.ClientTimeout(total=CONNECT_TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}, timeout=timeout) as session,
            session.request(method, base + path, params=query) as response,
        ):
            raw, status = await response.read(), response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise OperationalError(f"cannot reach merchant-webhooks at {base}: {type(exc).__name__}") from None
    return admin_answer("merchant-webhooks", status, raw, (400,))


def _rows(deliveries: list[Delivery]) -> str:
    def last(delivery: Delivery) -> tuple[Any, Any]:
        if not delivery.attempts:
            return None, None
        attempt = delivery.attempts[-1]
        return attempt.statusCode, clip(attempt.error, 40)

    return table(
        ["DELIVERY", "EVENT", "ENDPOINT", "STATUS", "ATTEMPTS", "LAST CODE", "LAST ERROR", "NEXT ATTEMPT"],
        [(d.id, d.eventId, d.endpointId, d.status, len(d.attempts), *last(d), d.nextAttemptAt) for d in deliveries],
    )


async def webhook_deliveries(args: argparse.Namespace, settings: Settings) -> int:
    query = {
        name: value
        for name, value in (
            ("status", args.status),
            ("merchant", args.merchant),
            ("endpoint", args.endpoint),
            ("event", args.event),
            ("limit", str(args.limit)),
        )
        if value
    }
    found = DeliveryList.model_validate(await _call(settings, "GET", "/admin/webhook-deliveries", query))
    if args.json:
        print_json(found.model_dump(mode="json"))
    else:
        print(_rows(found.items))
    return EXIT_OK


def _show(delivery: Delivery, as_json: bool) -> None:
    if as_json:
        print_json(delivery.model_dump(mode="json"))
        return
    print(_rows([delivery]))
    print(
        table(
            ["AT", "CODE", "LATENCY MS", "ERROR"],
            [(a.at, a.statusCode, a.latencyMs, a.error) for a in delivery.attempts],
        )
    )


async def webhook_show(args: argparse.Namespace, settings: Settings) -> int:
    found = await _call(settings, "GET", f"/admin/webhook-deliveries/{args.delivery_id}")
    _show(Delivery.model_validate(found), args.json)
    return EXIT_OK


async def webhook_redeliver(args: argparse.Namespace, settings: Settings) -> int:
    found = await _call(settings, "POST", f"/admin/webhook-deliveries/{args.delivery_id}/redeliver")
    _show(Delivery.model_validate(found), args.json)
    return EXIT_OK
