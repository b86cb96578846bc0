"""What the use cases are handed: built once, at start, by the composition root (`order_svc.app`)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from aiohttp import web

from order_svc.payments.client import PaymentsClient


@dataclass(frozen=True, slots=True)
class Deps:
    pool: asyncpg.Pool
    payments: PaymentsClient
    # every key of PAYMENT_SIGNING_SECRET, for `POST /payments/verify`; with none, no signature verifies
    signing_keys: tuple[bytes, ...] = ()


# where the views find them: set on the app once its resources have started
DEPS = web.AppKey("deps", Deps)
