"""What the use cases are handed: built once, at start, by the composition root (`order_svc.app`)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from aiohttp import web

from order_svc.merchants.signing import KeySecrets, NoSigningSecret
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
    # the merchants' key secrets, which their payment-link and subscription callbacks are signed with;
    # None: no callback can be signed
    key_secrets: KeySecrets | None = None
    # the base of the hosted checkout pages' URLs (CHECKOUT_URL): a payment link's short_url
    checkout_url: str = "http://127.0.0.1:8080"

    async def signing_secret(self, merchant_id: str) -> str:
        """The secret of the merchant's newest active API key (`merchants.signing`)."""
        if self.key_secrets is None:
            raise NoSigningSecret("no key secrets are available to this process")
        return await self.key_secrets.signing_secret(merchant_id)


# where the views find them: set on the app once its resources have started
DEPS = web.AppKey("deps", Deps)
