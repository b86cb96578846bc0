"""The hosted checkout pages served alone, for the browser tier when no system runs (no broker needed):
order-svc's checkout routes in a thread of their own, on a throwaway PostgreSQL database migrated as
order-svc's, its merchant seeded with a sealed key secret. A payment's outcome reaches the page the way it
reaches it in the system: payment-svc's event applied through order-svc's own consumer step."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlencode

import asyncpg
from aiohttp import web
from playwright.sync_api import Page, expect
from yarl import URL

from order_svc.access.limits import LIMITS, ApiLimits
from order_svc.checkout import http as checkout_http
from order_svc.checkout.domain import order_page_signature
from order_svc.deps import DEPS, Deps
from order_svc.merchants import service as merchants
from order_svc.merchants.sealing import Sealer, new_sealing_key, parse_sealing_keys
from order_svc.merchants.service import KeyCreated
from order_svc.merchants.signing import KeySecrets
from order_svc.orders.repository import OrderRepository
from order_svc.payment_links import service as links
from order_svc.payment_links.schemas import CreatePaymentLink, PaymentLinkEntity
from order_svc.payments.service import apply_payment_event
from order_svc.settings import SCHEMA, Settings
from payments_common import events, ids
from payments_common.db import create_pool, ensure_database
from payments_common.events import PaymentSnapshot
from payments_common.http import base_app
from payments_common.migrate import load_migrations, migrate
from payments_common.openapi import add_routes
from payments_common.timeutil import utcnow

T = TypeVar("T")
MERCHANT_NAME = "Acme Stationers"


@dataclass
class Pages:
    url: str
    loop: asyncio.AbstractEventLoop
    deps: Deps
    # a merchant made through the admin use case, its key's secret sealed: what the callbacks are signed with
    merchant_id: str
    key_id: str
    key_secret: str

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(30)

    def link(self, callback_url: str, **fields: Any) -> PaymentLinkEntity:
        body = {"amount": 2500, "currency": "INR", "description": "Two notebooks and a pen", **fields}
        body.setdefault("reference_id", f"shop-{uuid.uuid4().hex[:10]}")
        body.setdefault("callback_url", callback_url)
        return self.run(
            links.create(self.deps, self.merchant_id, CreatePaymentLink.model_validate(body), self.url, None)
        )

    def cancel(self, link: PaymentLinkEntity) -> None:
        self.run(links.cancel(self.deps, self.merchant_id, link.id))

    def order_page(self, amount: int = 4200) -> tuple[str, str]:
        """A new order of the merchant and the URL of its page, signed as the merchant signs it."""

        async def create() -> str:
            order_id = ids.new_id(ids.ORDER)
            async with self.deps.pool.acquire() as conn:
                await OrderRepository(conn).insert(order_id, self.merchant_id, amount, "INR", None, None)
            return order_id

        order_id = self.run(create())
        query = urlencode({"key_id": self.key_id, "signature": order_page_signature(self.key_secret, order_id)})
        return order_id, f"{self.url}/checkout/orders/{order_id}?{query}"

    def settle(self, paid: PaymentLinkEntity | str, status: str, **changes: Any) -> str:
        """payment-svc's event of an attempt of the link's order (or of the order `paid`) that ended
        `status`; the attempt's id."""

        async def apply() -> str:
            if isinstance(paid, str):
                order_id = paid
            else:
                order_id = await self.deps.pool.fetchval("SELECT order_id FROM payment_links WHERE id = $1", paid.id)
            amount = await self.deps.pool.fetchval("SELECT amount FROM orders WHERE id = $1", order_id)
            created = utcnow()
            snapshot = PaymentSnapshot(
                id=ids.new_id(ids.PAYMENT),
                orderId=order_id,
                merchantId=self.merchant_id,
                amount=amount,
                currency="INR",
                status=status,
                version=2,
                createdAt=created,
                updatedAt=created + timedelta(seconds=1),
                method={"type": "card", "last4": "0002", "network": "Visa", "expiryMonth": 12, "expiryYear": 2035},
                **changes,
            )
            kind = "payment.succeeded" if status == "SUCCESS" else "payment.failed"
            await apply_payment_event(self.deps, str(ids.new_uuid()), events.PaymentEvent(type=kind, payment=snapshot))
            return snapshot.id

        return self.run(apply())


class _Shop(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>Shop</title><p>Back at the shop."
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def shop() -> Iterator[str]:
    """A merchant's site on this machine, the links' callback_url: the page sends the customer here once paid."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/paid"
    finally:
        server.shutdown()


def walk_the_card_form_by_keyboard(phone: Page) -> None:
    """From the card number, Tab reaches the card form's fields in order and then its Pay button (a link of
    ₹25.00), and the next method opens from the keyboard, its field labelled."""
    phone.get_by_label("Card number").focus()
    order = []
    for _ in range(4):
        order.append(phone.evaluate("document.activeElement.id"))
        phone.keyboard.press("Tab")
    order.append(phone.evaluate("document.activeElement.textContent"))
    assert order == ["card_number", "expiry", "cvv", "card_name", "Pay ₹25.00 by card"]
    phone.keyboard.press("Tab")
    phone.keyboard.press("Enter")
    expect(phone.get_by_label("UPI ID")).to_be_visible()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_alone(admin_url: str) -> Iterator[Pages]:
    name = f"payments_pages_{uuid.uuid4().hex[:12]}"
    dsn = str(URL(admin_url).with_path(f"/{name}"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[Deps, web.AppRunner, KeyCreated]:
        await ensure_database(dsn)
        await migrate(dsn, SCHEMA, [*load_migrations("payments_common"), *load_migrations("order_svc")])
        pool = await create_pool(dsn, SCHEMA, 4)
        sealer = Sealer(parse_sealing_keys(new_sealing_key()))
        merchant = await merchants.create_merchant(pool, MERCHANT_NAME, None)
        key = await merchants.create_key(pool, merchant.id, sealer)
        deps = Deps(
            pool=pool,
            payments=None,  # type: ignore[arg-type]
            signing_keys=(uuid.uuid4().bytes * 2,),
            key_secrets=KeySecrets(pool, sealer),
            checkout_url=url,
        )
        app = base_app(max_body_bytes=64 * 1024)
        app[DEPS] = deps
        # the limits at their defaults, in this process's memory
        app[LIMITS] = ApiLimits.from_settings(Settings.model_construct())
        add_routes(app, checkout_http.ROUTES)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return deps, runner, key

    deps, runner, key = asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    try:
        yield Pages(url, loop, deps, key.key.merchant_id, key.key.key_id, key.secret)
    finally:

        async def stop() -> None:
            await runner.cleanup()
            await deps.pool.close()
            conn = await asyncpg.connect(admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
