"""`payments-admin merchant create|list|show` and `payments-admin key create|list|revoke`: merchants and their
API keys, through order-svc's admin API (`ORDER_SVC_URL`, the bearer `ADMIN_TOKEN`), so that a key created
or revoked here is the service's own doing, seen by every instance within seconds.

A key's secret is printed once, by `key create`, and is never shown again by anything.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from payments_common.config import ORDER_SVC_PORT
from payments_tools.admin.console import (
    CONNECT_TIMEOUT_SECONDS,
    EXIT_OK,
    OperationalError,
    Settings,
    UsageError,
    admin_answer,
    print_json,
    table,
)


class AdminApi:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/")

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self._base + path
        try:
            async with self._session.request(method, url, json=body) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise OperationalError(f"cannot reach order-svc at {self._base}: {type(exc).__name__}") from None
        return admin_answer("order-svc", status, raw, (400, 422), name_field=True)


@contextlib.asynccontextmanager
async def admin_api(settings: Settings) -> AsyncIterator[AdminApi]:
    token = settings.env.get("ADMIN_TOKEN")
    if not token:
        raise UsageError("ADMIN_TOKEN is not set (in the environment or ./.env): the admin API needs it")
    base = settings.env.get("ORDER_SVC_URL", f"http://127.0.0.1:{ORDER_SVC_PORT}")
    timeout = aiohttp.ClientTimeout(total=CONNECT_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}, timeout=timeout) as session:
        yield AdminApi(session, base)


def _merchant_rows(merchants: list[dict[str, Any]]) -> str:
    return table(
        ["ID", "NAME", "ALERT EMAIL", "CREATED"],
        [(m["id"], m["name"], m["alertEmail"], m["createdAt"]) for m in merchants],
    )


def _key_rows(keys: list[dict[str, Any]]) -> str:
    return table(
        ["KEY ID", "MERCHANT", "CREATED", "REVOKED"],
        [(k["keyId"], k["merchantId"], k["createdAt"], k["revokedAt"]) for k in keys],
    )


def _path_part(value: str) -> str:
    # ids are plain tokens; anything that would change the path is refused rather than sent
    if not value or any(char in value for char in "/?#%") or not value.isprintable():
        raise UsageError(f"not an id: {value!r}")
    return value


async def merchant_create(args: argparse.Namespace, settings: Settings) -> int:
    body: dict[str, Any] = {"name": args.name}
    if args.alert_email:
        body["alertEmail"] = args.alert_email
    async with admin_api(settings) as api:
        merchant = await api.call("POST", "/admin/merchants", body)
    print_json(merchant) if args.json else print(_merchant_rows([merchant]))
    return EXIT_OK


async def merchant_list(args: argparse.Namespace, settings: Settings) -> int:
    async with admin_api(settings) as api:
        answer = await api.call("GET", f"/admin/merchants?limit={args.limit}")
    print_json(answer) if args.json else print(_merchant_rows(answer["items"]))
    return EXIT_OK


async def merchant_show(args: argparse.Namespace, settings: Settings) -> int:
    merchant_id = _path_part(args.id)
    async with admin_api(settings) as api:
        merchant = await api.call("GET", f"/admin/merchants/{merchant_id}")
        keys = await api.call("GET", f"/admin/merchants/{merchant_id}/keys")
    if args.json:
        print_json({**merchant, "keys": keys["items"]})
        return EXIT_OK
    print(_merchant_rows([merchant]))
    print()
    print(_key_rows(keys["items"]))
    return EXIT_OK


async def key_create(args: argparse.Namespace, settings: Settings) -> int:
    async with admin_api(settings) as api:
        key = await api.call("POST", f"/admin/merchants/{_path_part(args.merchant)}/keys")
    if args.json:
        print_json(key)
        return EXIT_OK
    print(_key_rows([key]))
    print()
    print(f"key secret (shown this once, store it now): {key['keySecret']}")
    return EXIT_OK


async def key_list(args: argparse.Namespace, settings: Settings) -> int:
    async with admin_api(settings) as api:
        answer = await api.call("GET", f"/admin/merchants/{_path_part(args.merchant)}/keys")
    print_json(answer) if args.json else print(_key_rows(answer["items"]))
    return EXIT_OK


async def key_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async with admin_api(settings) as api:
        key = await api.call("POST", f"/admin/keys/{_path_part(args.key_id)}/revoke")
    print_json(key) if args.json else print(_key_rows([key]))
    return EXIT_OK
