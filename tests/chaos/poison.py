"""A poison event, dead-lettered, fixed and requeued, as an operator would handle one.

1. A correctly signed SUCCESS webhook for an attempt payment-svc has never heard of: a real order
   (created through the API), a fresh `pay_…` id and a fresh `gw_…` id with a valid payment signature.
   The webhook gateway accepts it; payment-svc retries it through every delay tier and dead-letters it
   with `RETRIES_EXHAUSTED:UNKNOWN_PAYMENT`.
2. The fix: the missing attempt is written into payment-svc's tables (`order_payments`, `payments`,
   `INITIATED`, with the gateway payment id and signature the event names).
3. `payments-admin dlq requeue <event id>`; then the event must be applied exactly once: the
   payment SUCCESS, the order PAID, one `settled` row with that event id, the DLQ without it.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from payments_common import ids
from payments_common.signatures import payment_signature, sign_webhook

from . import invariants as inv
from .load import Client, Unanswered
from .observe import connection, list_queues

ORIGIN = "payment-svc.webhooks"
DLQ = f"{ORIGIN}.dlq"
EXPECTED_REASON = "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT"
DEAD_LETTER_TIMEOUT = 90.0
APPLY_TIMEOUT = 60.0


@dataclass(slots=True)
class PoisonResult:
    event_id: str = ""
    order_id: str | None = None
    payment_id: str = ""
    accepted: bool = False
    dead_lettered: bool = False
    reason: str | None = None
    requeued: bool = False
    applied_once: bool = False
    # still in the DLQ at the end: the harness made it bad and did not requeue it
    left_in_dlq: bool = False
    problems: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)


def find_dead_letter(listing: Any, event_id: str) -> dict[str, Any] | None:
    """The entry of `payments-admin dlq list --json --messages` output whose id is `event_id`, wherever it is nested."""
    if isinstance(listing, dict):
        if event_id in (listing.get("id"), listing.get("message_id"), listing.get("messageId"), listing.get("eventId")):
            return listing
        values: list[Any] = list(listing.values())
    elif isinstance(listing, list):
        values = listing
    else:
        return None
    for value in values:
        found = find_dead_letter(value, event_id)
        if found is not None:
            return found
    return None


def reason_of(entry: dict[str, Any]) -> str | None:
    for key in ("reason", "dead-letter-reason", "deadLetterReason"):
        if isinstance(entry.get(key), str):
            return str(entry[key])
    headers = entry.get("headers")
    return reason_of(headers) if isinstance(headers, dict) else None


@dataclass(frozen=True, slots=True)
class Harness:
    client: Client
    webhook_url: str
    merchant_id: str
    payment_secret: bytes
    webhook_key: bytes
    dsn: str
    admin: Path
    env: dict[str, str]
    log: Callable[[str], None]


async def _send_webhook(h: Harness, event_id: str, payload: dict[str, Any]) -> int:
    body = orjson.dumps(payload)
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        while True:
            headers = {"content-type": "application/json", **sign_webhook(h.webhook_key, event_id, body).as_dict()}
            try:
                async with session.post(h.webhook_url, data=body, headers=headers) as response:
                    if response.status < 500 or time.monotonic() > deadline:
                        return response.status
            except (aiohttp.ClientError, TimeoutError):
                if time.monotonic() > deadline:
                    return 0
            await asyncio.sleep(0.5)


async def _admin(h: Harness, *args: str) -> tuple[int, str, str]:
    """payments-admin's exit status, standard output and standard error."""
    process = await asyncio.create_subprocess_exec(
        str(h.admin), *args, env={**os.environ, **h.env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        await process.wait()
        return -1, "", f"payments-admin {' '.join(args)} timed out"
    return process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


async def _dlq_entry(h: Harness, event_id: str) -> tuple[dict[str, Any] | None, str]:
    code, out, err = await _admin(h, "dlq", "list", "--json", "--messages", "--queue", ORIGIN)
    if code != 0:
        return None, f"payments-admin dlq list exited {code}: {(err or out)[-300:]}"
    starts = [i for i in (out.find("{"), out.find("[")) if i >= 0]
    try:
        listing = json.loads(out[min(starts) :]) if starts else None
    except ValueError:
        listing = None
    if listing is None:
        return None, f"payments-admin dlq list printed no JSON: {out[:300]}"
    return find_dead_letter(listing, event_id), ""


async def _dlq_depth(h: Harness) -> int | None:
    vhost = h.env["AMQP_URL"].rsplit("/", 1)[-1] or "/"
    queues = await list_queues(vhost)
    return None if queues is None else queues.get(DLQ)


async def _insert_missing_attempt(h: Harness, result: PoisonResult, gateway_payment_id: str, signature: str) -> None:
    assert result.order_id is not None
    async with connection(h.dsn) as conn, conn.transaction():
        order = await conn.fetchrow("SELECT amount, currency FROM orders.orders WHERE id = $1", result.order_id)
        await conn.execute(
            """INSERT INTO payments.order_payments (order_id, merchant_id, amount, currency)
               VALUES ($1, $2, $3, $4) ON CONFLICT (order_id) DO NOTHING""",
            result.order_id,
            h.merchant_id,
            order["amount"],
            order["currency"],
        )
        await conn.execute(
            """INSERT INTO payments.payments
                   (id, order_id, merchant_id, amount, currency, status, gateway_payment_id, signature)
               VALUES ($1, $2, $3, $4, $5, 'INITIATED', $6, $7)""",
            result.payment_id,
            result.order_id,
            h.merchant_id,
            order["amount"],
            order["currency"],
            gateway_payment_id,
            signature,
        )


async def _wait_applied(h: Harness, result: PoisonResult) -> None:
    deadline = time.monotonic() + APPLY_TIMEOUT
    status = order_status = None
    while time.monotonic() < deadline:
        async with connection(h.dsn) as conn:
            status = await conn.fetchval("SELECT status FROM payments.payments WHERE id = $1", result.payment_id)
            order_status = await conn.fetchval("SELECT status FROM orders.orders WHERE id = $1", result.order_id)
            recorded = await conn.fetch("SELECT kind FROM payments.payment_events WHERE event_id = $1", result.event_id)
        if status == "SUCCESS" and order_status == "PAID":
            # a redelivery turned away by the inbox is recorded too, and is not an application
            kinds = [r["kind"] for r in recorded if r["kind"] not in inv.NOT_APPLYING_KINDS]
            result.applied_once = kinds == ["settled"]
            if not result.applied_once:
                result.problems.append(f"requeued event recorded as {kinds}, expected one 'settled'")
            return
        await asyncio.sleep(0.5)
    result.problems.append(
        f"requeued event not applied in {APPLY_TIMEOUT:.0f} s: payment {status}, order {order_status}"
    )


async def poison(h: Harness, receipt: str) -> PoisonResult:
    result = PoisonResult(event_id=ids.new_id(ids.EVENT), payment_id=ids.new_id(ids.PAYMENT))
    admin_present = h.admin.exists() and os.access(h.admin, os.X_OK)
    try:
        result.order_id = await h.client.create_order(receipt, 4200)
    except Unanswered as exc:
        result.problems.append(f"could not create the poison event's order: {exc}")
        return result
    gateway_payment_id = ids.new_id(ids.GATEWAY_PAYMENT)
    signature = payment_signature(h.payment_secret, result.order_id, gateway_payment_id)
    payload = {
        "orderId": result.order_id,
        "paymentId": result.payment_id,
        "gatewayPaymentId": gateway_payment_id,
        "signature": signature,
        "status": "SUCCESS",
        "amount": 4200,
        "currency": "INR",
    }
    status = await _send_webhook(h, result.event_id, payload)
    result.accepted = status == 200
    if not result.accepted:
        result.problems.append(f"the webhook gateway answered {status} to the poison event, expected 200")
        return result
    h.log(f"poison event {result.event_id} accepted (payment {result.payment_id} unknown to payment-svc)")

    # dead-lettered after the retry tiers
    deadline = time.monotonic() + DEAD_LETTER_TIMEOUT
    while time.monotonic() < deadline:
        if admin_present:
            entry, error = await _dlq_entry(h, result.event_id)
            if error:
                result.problems.append(error)
                break
            if entry is not None:
                result.dead_lettered = True
                result.reason = reason_of(entry)
                break
        elif (await _dlq_depth(h) or 0) >= 1:
            result.dead_lettered = True
            break
        await asyncio.sleep(1.0)
    if not result.dead_lettered:
        result.problems.append(f"poison event not in {DLQ} after {DEAD_LETTER_TIMEOUT:.0f} s")
        return result
    result.left_in_dlq = True
    if not admin_present:
        result.not_run.append(
            f"poison requeue: {h.admin} is not installed; the event stays in {DLQ} (its reason is not checked)"
        )
        h.log(f"poison event is in {DLQ}; payments-admin missing: NOT requeued")
        return result
    h.log(f"poison event dead-lettered with reason {result.reason}")
    if result.reason != EXPECTED_REASON:
        result.problems.append(f"dead-letter reason {result.reason!r}, expected {EXPECTED_REASON!r}")

    await _insert_missing_attempt(h, result, gateway_payment_id, signature)
    h.log(f"fixed: attempt {result.payment_id} written to payment-svc's tables; requeueing")
    code, out, err = await _admin(h, "dlq", "requeue", result.event_id)
    if code != 0:
        result.problems.append(f"payments-admin dlq requeue exited {code}: {(err or out)[-300:]}")
        return result
    result.requeued = True
    result.left_in_dlq = False
    await _wait_applied(h, result)
    entry, error = await _dlq_entry(h, result.event_id)
    if error:
        result.problems.append(error)
    elif entry is not None:
        result.left_in_dlq = True
        result.problems.append(f"the requeued event is still listed in {DLQ}")
    h.log(
        "poison event applied exactly once after the requeue"
        if result.applied_once
        else "poison event NOT applied exactly once after the requeue"
    )
    return result
