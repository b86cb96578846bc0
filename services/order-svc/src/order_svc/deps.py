"""What the use cases are handed: built once, at start, by the composition root (`order_svc.app`)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from aiohttp import web

from order_svc.payments.client import PaymentsClient
from order_svc.webhook_endpoints.client import MerchantWebhooksClient


@dataclass(frozen=True, slots=True)
class Deps:
    pool: asyncpg.Pool
    payments: PaymentsClient
    # every key of PAYMENT_SIGNING_SECRET, for `POST /payments/verify`; with none, no signature verifies
    signing_keys: tuple[bytes, ...] = ()
    # the merchant-webhooks process's internal API, behind the webhook endpoints' routes; None: they answer 503
    webhooks: MerchantWebhooksClient | None = None


# where the views find them: set on the app once its resources have started
DEPS = web.AppKey("deps", Deps)
