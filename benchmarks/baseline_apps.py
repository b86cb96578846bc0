"""The two minimal apps the services are measured against, each run as its own process:

    python -m benchmarks.baseline_apps ingress --port 18091   # AMQP_URL, WEBHOOK_SECRETS
    python -m benchmarks.baseline_apps orders --port 18092    # DATABASE_URL, API_KEYS, BASELINE_TABLE

- ingress: POST /webhook/payment verifies the Standard Webhooks signature (`v1,` + base64 HMAC-SHA256
  of `id.timestamp.body`, constant-time compare, timestamp tolerance) over the raw body and publishes
  it, persistent and mandatory, with publisher confirms, through a topic exchange to a quorum queue
  as the gateway's are; 200 once confirmed.
  No JSON parsing, payload validation, rate limiting or logging: the least an ingress must do.
- orders: POST /orders authenticates HTTP Basic against API_KEYS as order-svc does (key id lookup,
  constant-time compare of the secret, a dummy compare for an unknown id), reads amount and currency,
  inserts the order row into a copy of `orders.orders` and answers 201 with it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import AsyncIterator, Mapping

import aio_pika
import asyncpg
import orjson
import uvloop
from aiohttp import web

TOLERANCE_SECONDS = 300
# the path a webhook takes in the system: a durable topic exchange routing to a quorum queue (the
# system's queues are all quorum queues, replicated and fsynced: the broker's share of the work is
# the same for the bound as for the gateway)
EXCHANGE = "bench.baseline.webhooks"
QUEUE = "bench.baseline.ingress"
ROUTING_KEY = "webhook.payment"
ROUTING_PATTERN = "webhook.#"
QUORUM = {"x-queue-type": "quorum"}
_DUMMY = b"\x00" * 32


def webhook_keys(raw: str) -> list[bytes]:
    keys = []
    for item in (part.strip() for part in raw.split(",")):
        if item:
            encoded = item.removeprefix("whsec_")
            keys.append(base64.b64decode(encoded + "=" * (-len(encoded) % 4)))
    return keys


def verified(keys: list[bytes], headers: Mapping[str, str], body: bytes) -> bool:
    """The Standard Webhooks check: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` under any key, a fresh
    timestamp, every comparison constant time."""
    msg_id = headers.get("webhook-id", "")
    stamp, signatures = headers.get("webhook-timestamp", ""), headers.get("webhook-signature", "")
    if not msg_id or not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return False
    signed = f"{msg_id}.{stamp}.".encode() + body
    matched = False
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        for candidate in signatures.split():
            version, _, encoded = candidate.partition(",")
            try:
                given = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                continue
            matched |= version == "v1" and hmac.compare_digest(expected, given)
    return matched


def ingress_app() -> web.Application:
    keys = webhook_keys(os.environ["WEBHOOK_SECRETS"])
    app = web.Application()
    exchange_key = web.AppKey("exchange", aio_pika.abc.AbstractExchange)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        connection = await aio_pika.connect_robust(os.environ["AMQP_URL"])
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(QUEUE, durable=True, arguments=QUORUM)
        await queue.bind(exchange, ROUTING_PATTERN)
        app[exchange_key] = exchange
        yield
        await connection.close()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not verified(keys, request.headers, body):
            return web.json_response({"success": False}, status=400)
        message = aio_pika.Message(
            body,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=request.headers["webhook-id"],
            content_type="application/json",
        )
        await request.app[exchange_key].publish(message, routing_key=ROUTING_KEY, mandatory=True, timeout=5)
        return web.json_response({"success": True})

    app.cleanup_ctx.append(resources)
    app.router.add_post("/webhook/payment", receive)
    app.router.add_get("/health", lambda _: _ok())
    return app


async def _ok() -> web.Response:
    return web.json_response({"status": "ok"})


def api_keys(raw: str) -> dict[str, bytes]:
    keys = {}
    for item in (part.strip() for part in raw.split(",")):
        key_id, _, secret = item.partition(":")
        if key_id and secret:
            keys[key_id] = secret.encode()
    return keys


def merchant_of(header: str | None, keys: dict[str, bytes]) -> str | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        key_id, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, ValueError):
        return None
    expected = keys.get(key_id, _DUMMY)
    matches = hmac.compare_digest(expected, secret.encode())
    return key_id if sep and key_id in keys and matches else None


def orders_app() -> web.Application:
    keys = api_keys(os.environ["API_KEYS"])
    table = os.environ.get("BASELINE_TABLE", "bench_baseline.orders")
    app = web.Application()
    pool_key = web.AppKey("pool", asyncpg.Pool)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            os.environ["DATABASE_URL"], min_size=2, max_size=int(os.environ.get("DB_POOL_SIZE", "10"))
        )
        app[pool_key] = pool
        yield
        await pool.close()

    async def create(request: web.Request) -> web.Response:
        merchant = merchant_of(request.headers.get("Authorization"), keys)
        if merchant is None:
            return web.json_response({"success": False}, status=401)
        body = orjson.loads(await request.read())
        amount, currency = body.get("amount"), body.get("currency")
        if not isinstance(amount, int) or not isinstance(currency, str) or amount <= 0:
            return web.json_response({"success": False}, status=400)
        row = await request.app[pool_key].fetchrow(
            f"""INSERT INTO {table} (id, merchant_id, amount, currency) VALUES ($1, $2, $3, $4)
                RETURNING id, amount, currency, status, created_at""",
            f"order_{secrets.token_hex(10)}",
            merchant,
            amount,
            currency,
        )
        answer = {
            "orderId": row["id"],
            "amount": row["amount"],
            "currency": row["currency"],
            "status": row["status"],
            "createdAt": row["created_at"].isoformat(),
        }
        return web.Response(body=orjson.dumps(answer), status=201, content_type="application/json")

    app.cleanup_ctx.append(resources)
    app.router.add_post("/orders", create)
    app.router.add_get("/health", lambda _: _ok())
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("app", choices=("ingress", "orders"))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = ingress_app() if args.app == "ingress" else orders_app()
    # on uvloop, as the services run: a bound on a slower event loop would flatter them
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
