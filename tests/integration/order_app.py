"""order-svc's whole app under aiohttp's test client, on a test's migrated database and vhost."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from order_svc.app import create_app
from order_svc.settings import Settings


@contextlib.asynccontextmanager
async def order_svc_client(
    dsn: str, amqp_url: str, merchants: tuple[tuple[str, str], ...], **overrides: Any
) -> AsyncIterator[TestClient[Any, Any]]:
    """The app with `merchants` (key id, secret) as its API keys and `overrides` on top of the test
    settings; its payment-svc URL answers nothing (a test that needs payment-svc's events sends them)."""
    settings = Settings(
        DATABASE_URL=dsn,
        AMQP_URL=SecretStr(amqp_url),
        API_KEYS=SecretStr(",".join(f"{key_id}:{secret}" for key_id, secret in merchants)),
        PAYMENT_SIGNING_SECRET=SecretStr("ab" * 32),
        INTERNAL_API_TOKEN=SecretStr("internal-token-0123456789abcdef"),
        PAYMENT_SVC_URL="http://127.0.0.1:1",
        **overrides,
    )
    async with TestClient(TestServer(await create_app(settings))) as client:
        yield client
