"""The attack table: each attack tried against the running system, what it was answered, and whether
it changed anything.

    flock /tmp/payments-system.lock make attacks
    flock /tmp/payments-system.lock .venv/bin/payments-stack exec -- .venv/bin/python -m tests.security.attacks

Every attack aims at its own victim, an order of merchant A with an attempt that only a webhook can
settle. Around each attack the relevant state is read (tests/security/snapshot.py: the victims' order
and payment statuses, their payment_events and the inbox rows of every event id sent, orders and
payments created since the run started, the webhook queue and its dead letters), after waiting for
anything published to be consumed; a difference is a change the attack made.

The table is printed and written as JSON to `.run/attacks.json`. Exit status 1 when an attack changed
the database, got a 5xx, or got an answer outside those expected of it (a 2xx where a refusal is due),
else 0. `make attacks` runs the stack with `WEBHOOK_ALLOWED_CIDRS=127.0.0.1/32` and
`TRUSTED_PROXIES=127.0.0.1/32`, so the allowlist can be tried from 127.0.0.2 and through a proxy; with
an allowlist that admits every local address, that row is "not run" and says why.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from payments_common import ids
from payments_common.client_address import IPNetwork, parse_cidrs, within
from tests.security import snapshot, webhook_attacks
from tests.security.wire import Target, Webhook, digest_header, raw_request, request_bytes
from webhook_gateway.settings import Settings as GatewaySettings


@dataclass
class Victim:
    order: dict[str, Any]
    payment: dict[str, Any]
    # what an attack's `prepare` left for its `run`
    prepared: Any = None


REFUSED = frozenset({400, 429})
DEFAULT_FLOOD = 500


@dataclass
class Outcome:
    statuses: Counter[int] = field(default_factory=Counter)
    note: str = ""

    def add(self, status: int) -> None:
        self.statuses[status] += 1


@dataclass(frozen=True)
class NotRun:
    reason: str


@dataclass(frozen=True)
class Attack:
    name: str
    # the answers that mean it was handled as it should be
    expected: frozenset[int]
    run: Callable[[Target, Victim], Outcome | NotRun]
    # done before the baseline is read: a legitimate step the attack builds on
    prepare: Callable[[Target, Victim], Any] | None = None


# ---------------------------------------------------------------------------------------------
# the attacks
# ---------------------------------------------------------------------------------------------


def forged_signature(target: Target, victim: Victim) -> Outcome:
    outcome = Outcome()
    body = target.payload(victim.order, victim.payment)
    for _ in range(5):
        outcome.add(target.send(target.forged(body)))
    # a correct signature's shape with garbage in it, and none at all
    genuine = target.signed(body)
    outcome.add(target.send(genuine, headers={"webhook-signature": "v1," + "A" * 44}))
    outcome.add(target.send(genuine, headers={"webhook-signature": "v2,whatever"}))
    return outcome


def tampered_body(target: Target, victim: Victim) -> Outcome:
    outcome = Outcome()
    signed_failed = target.signed(target.payload(victim.order, victim.payment, status="FAILED"))
    success = target.payload(victim.order, victim.payment, status="SUCCESS")
    outcome.add(target.send(signed_failed, body=success))
    # the same bytes with one space more: still not what was signed
    outcome.add(target.send(signed_failed, body=signed_failed.body + b" "))
    return outcome


def replay_prepare(target: Target, victim: Victim) -> None:
    original = target.signed(target.payload(victim.order, victim.payment))
    status = target.send(original)
    if status != 200:
        raise SystemExit(f"attacks: the legitimate webhook the replay builds on was answered {status}")
    deadline = time.monotonic() + 20
    while target.merchant_a.get(f"/orders/{victim.order['orderId']}").json()["status"] != "PAID":
        if time.monotonic() > deadline:
            raise SystemExit("attacks: the legitimate webhook the replay builds on was never applied")
        time.sleep(0.1)
    victim.prepared = original


def replayed(target: Target, victim: Victim) -> Outcome:
    captured = victim.prepared
    outcome = Outcome(note="same bytes and headers, inside the window, after the original was applied")
    for _ in range(5):
        outcome.add(target.send(captured))
    return outcome


def stale_timestamp(target: Target, victim: Victim) -> Outcome:
    outcome = Outcome(note=f"signed {target.tolerance + 60} s and 1 day ago")
    body = target.payload(victim.order, victim.payment)
    for age in (target.tolerance + 60, 86_400):
        outcome.add(target.send(target.signed(body, timestamp=int(time.time()) - age)))
    # a fresh capture with its timestamp rolled back, not re-signed
    fresh = target.signed(body)
    outcome.add(target.send(fresh, headers={"webhook-timestamp": str(int(time.time()) - target.tolerance - 60)}))
    return outcome


def future_timestamp(target: Target, victim: Victim) -> Outcome:
    outcome = Outcome(note=f"signed {target.tolerance + 60} s and 1 day ahead")
    body = target.payload(victim.order, victim.payment)
    for ahead in (target.tolerance + 60, 86_400):
        outcome.add(target.send(target.signed(body, timestamp=int(time.time()) + ahead)))
    outcome.add(target.send(target.signed(body), headers={"webhook-timestamp": "9" * 40}))
    return outcome


def oversized_body(target: Target, victim: Victim) -> Outcome:
    outcome = Outcome(note=f"MAX_BODY_BYTES + 1 = {target.max_body + 1} bytes, with Content-Length and chunked")
    big = target.payload(victim.order, victim.payment)[:-1] + b', "padding": "' + b"x" * target.max_body + b'"}'
    outcome.add(target.send(target.signed(big)))
    chunked = target.signed(big)

    def chunks() -> Any:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    outcome.add(
        target.raw.post(f"{target.webhook_url}/webhook/payment", content=chunks(), headers=chunked.headers).status_code
    )
    outcome.add(
        target.merchant_a.post("/orders", content=big, headers={"content-type": "application/json"}).status_code
    )
    return outcome


def malformed_json(target: Target, victim: Victim) -> Outcome:
    outcome = Outcome(note="signed, so they reach the parser; nested 40 and 100,000 deep")
    body = target.payload(victim.order, victim.payment)
    for broken in (body[:-5], b"\xff\xfe" + body, b"[" * 40 + b"]" * 40, b'{"a":' * 40 + b"1" + b"}" * 40):
        outcome.add(target.send(target.signed(broken)))
    # deeper than orjson itself would go, within the size limit
    outcome.add(target.send(target.signed(b"[" * 30_000)))
    deep_order = b'{"amount": 100, "currency": "INR", "notes": ' + b"[" * 40 + b"]" * 40 + b"}"
    for client_body in (b'{"amount": 100, "currency": ', deep_order):
        outcome.add(
            target.merchant_a.post(
                "/orders", content=client_body, headers={"content-type": "application/json"}
            ).status_code
        )
    return outcome


def non_ascii_signature(target: Target, victim: Victim) -> Outcome:
    outcome = Outcome(note="UTF-8 and Latin-1 bytes in webhook-signature and webhook-id; in Basic credentials")
    genuine = target.signed(target.payload(victim.order, victim.payment))

    def with_headers(**replaced: bytes) -> bytes:
        headers = [(k.encode(), v.encode()) for k, v in genuine.headers.items() if k not in replaced]
        headers += [(k.encode(), v) for k, v in replaced.items()]
        headers.append((b"Content-Length", str(len(genuine.body)).encode()))
        return request_bytes("POST", "/webhook/payment", headers, genuine.body)

    signature = genuine.headers["webhook-signature"].encode()
    for replaced in (
        {"webhook-signature": signature + "ä€".encode()},
        {"webhook-signature": b"v1,\xff\xfe" + signature[3:]},
        # a list of candidates, none of them genuine (one genuine one would be enough, as the contract says)
        {"webhook-signature": "v1,ÄÖÜ".encode() + b" v1," + b"A" * 44},
        {"webhook-id": "evt_ünïcödé".encode()},
    ):
        outcome.add(raw_request(target.webhook_url, with_headers(**replaced)))
    credentials = b"Basic " + "ключ:секрет".encode()
    outcome.add(raw_request(target.api_url, request_bytes("GET", "/orders/order_x", [(b"Authorization", credentials)])))
    return outcome


# a loopback address outside an allowlist of 127.0.0.1/32, and a documentation address (TEST-NET-3)
OUTSIDER = ipaddress.ip_address("127.0.0.2")
FAR_AWAY = ipaddress.ip_address("203.0.113.9")
LOOPBACK = ipaddress.ip_address("127.0.0.1")


@dataclass(frozen=True)
class Route:
    """One way to arrive at the webhook gateway from outside its allowlist."""

    description: str
    source: str | None  # the local address to connect from (None: the default)
    forwarded_for: str | None


def allowlist_routes(allowed: tuple[IPNetwork, ...], trusted: tuple[IPNetwork, ...]) -> list[Route]:
    """The routes from outside the allowlist that this machine can take, given the gateway's settings."""
    routes: list[Route] = []
    if not within(OUTSIDER, allowed):
        routes.append(Route("from 127.0.0.2", str(OUTSIDER), None))
        # an allowed address claimed by a peer that is no trusted proxy
        routes.append(Route("from 127.0.0.2 claiming X-Forwarded-For: 127.0.0.1", str(OUTSIDER), str(LOOPBACK)))
    if within(LOOPBACK, trusted) and within(LOOPBACK, allowed) and not within(FAR_AWAY, allowed):
        routes.append(Route("through the trusted proxy 127.0.0.1 for 203.0.113.9", None, str(FAR_AWAY)))
    return routes


def outside_the_allowlist(target: Target, victim: Victim) -> Outcome | NotRun:
    """A correctly signed webhook, from an address the allowlist does not hold: refused all the same."""
    # the gateway's own settings, as the stack gave them to it (this process has the same environment)
    allowed_raw = os.environ.get(
        "WEBHOOK_ALLOWED_CIDRS", str(GatewaySettings.model_fields["WEBHOOK_ALLOWED_CIDRS"].default)
    )
    trusted_raw = os.environ.get("TRUSTED_PROXIES", "")
    routes = allowlist_routes(parse_cidrs(allowed_raw), parse_cidrs(trusted_raw))
    if not routes:
        return NotRun(
            f"every local address is allowed (WEBHOOK_ALLOWED_CIDRS={allowed_raw}, "
            f"TRUSTED_PROXIES={trusted_raw or 'none'}): `make attacks` runs the stack with 127.0.0.1/32"
        )
    webhook = target.signed(target.payload(victim.order, victim.payment))
    outcome = Outcome(note="; ".join(route.description for route in routes))
    for route in routes:
        headers = [(k.encode(), v.encode()) for k, v in webhook.headers.items()]
        headers.append((b"Content-Length", str(len(webhook.body)).encode()))
        if route.forwarded_for:
            headers.append((b"X-Forwarded-For", route.forwarded_for.encode()))
        request = request_bytes("POST", "/webhook/payment", headers, webhook.body)
        outcome.add(raw_request(target.webhook_url, request, source=route.source))
    return outcome


def flood(requests: int) -> Callable[[Target, Victim], Outcome]:
    def run(target: Target, victim: Victim) -> Outcome:
        body = target.payload(victim.order, victim.payment)
        webhooks = [target.forged(body) for _ in range(requests)]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(target.send, webhooks))
        took = time.monotonic() - started
        return Outcome(Counter(statuses), note=f"{requests} forged in {took:.1f} s ({requests / took:.0f}/s)")

    return run


def other_merchants_order(target: Target, victim: Victim) -> Outcome:
    order = victim.order
    outcome = Outcome(note="merchant B reads and pays merchant A's order")
    outcome.add(target.merchant_b.get(f"/orders/{order['orderId']}").status_code)
    outcome.add(target.merchant_b.post("/payments/initiate", json={"orderId": order["orderId"]}).status_code)
    outcome.add(
        target.merchant_b.post(
            "/payments/initiate",
            json={"orderId": order["orderId"], "method": {"type": "upi", "vpa": "success@razorpay"}},
        ).status_code
    )
    return outcome


def wrong_content_digest(target: Target, victim: Victim) -> Outcome:
    outcome = Outcome(note="correctly signed; the digest of another body, or a malformed one")
    body = target.payload(victim.order, victim.payment)
    other = body.replace(b"SUCCESS", b"FAILED")
    for digest in (
        digest_header(other),
        digest_header(other, "sha-512"),
        f"{digest_header(body)}, {digest_header(other, 'sha-512')}",
        "sha-256=not-base64",
    ):
        outcome.add(target.send(target.signed(body), headers={"Content-Digest": digest}))
    return outcome


def _refund_report(victim: Victim, status: str = "PROCESSED") -> bytes:
    """A report of a refund of the victim's payment (one it never had: a forged one must not reach a consumer)."""
    return json.dumps(
        {
            "refundId": ids.new_id(ids.REFUND),
            "paymentId": victim.payment["paymentId"],
            "gatewayPaymentId": victim.payment["gatewayPaymentId"],
            "gatewayRefundId": ids.new_id(ids.GATEWAY_REFUND),
            "amount": victim.order["amount"],
            "currency": victim.order["currency"],
            "status": status,
        }
    ).encode()


def forged_refund_webhook(target: Target, victim: Victim) -> Outcome:
    outcome = Outcome(note="POST /webhook/refund: forged signatures, and a signed report sent with another body")

    def send(webhook: Webhook, body: bytes | None = None) -> int:
        content = webhook.body if body is None else body
        return target.raw.post(
            f"{target.webhook_url}/webhook/refund", content=content, headers=webhook.headers
        ).status_code

    for _ in range(3):
        outcome.add(send(target.forged(_refund_report(victim))))
    outcome.add(send(target.signed(_refund_report(victim, "FAILED")), body=_refund_report(victim)))
    return outcome


def attacks(flood_requests: int) -> list[Attack]:
    return [
        Attack("forged signature", REFUSED, forged_signature),
        Attack("tampered body", REFUSED, tampered_body),
        Attack("replayed (inside the window)", frozenset({200}), replayed, prepare=replay_prepare),
        Attack("stale timestamp", REFUSED, stale_timestamp),
        Attack("future timestamp", REFUSED, future_timestamp),
        Attack("oversized body", frozenset({413, 429}), oversized_body),
        Attack("malformed / deep JSON", REFUSED, malformed_json),
        Attack("non-ASCII signature header", REFUSED | {401}, non_ascii_signature),
        Attack("outside the allowlist", frozenset({403}), outside_the_allowlist),
        Attack("other merchant's order", frozenset({404}), other_merchants_order),
        Attack("wrong Content-Digest", REFUSED, wrong_content_digest),
        Attack("forged refund webhook", REFUSED, forged_refund_webhook),
        # server-side request forgery through merchants' webhook endpoints (tests/security/webhook_attacks.py)
        Attack("webhook URL: loopback", frozenset({400}), webhook_attacks.loopback_url),
        Attack("webhook URL: cloud metadata", frozenset({400}), webhook_attacks.metadata_url),
        Attack("webhook URL: name resolving to loopback", frozenset({400}), webhook_attacks.name_resolving_to_private),
        Attack(
            "webhook redirect to a private address",
            frozenset({302}),
            webhook_attacks.redirect_to_private,
            prepare=webhook_attacks.redirect_prepare,
        ),
        # last: it empties the unverified rate-limit bucket the rows above draw from
        Attack("flood (forged)", REFUSED, flood(flood_requests)),
    ]


# ---------------------------------------------------------------------------------------------
# running them, the table
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    attack: str
    requests: int
    answers: dict[str, int]
    db_changed: bool | None
    changes: list[str]
    verdict: str
    expected: list[int]
    note: str

    def as_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def verdict(outcome: Outcome, expected: frozenset[int], changed: list[str]) -> str:
    if any(status >= 500 for status in outcome.statuses):
        return "5XX"
    if changed:
        return "CHANGED"
    if not set(outcome.statuses) <= expected:
        return "UNEXPECTED"
    return "ok"


def run_one(target: Target, scope: snapshot.Scope, attack: Attack, victim: Victim) -> Row:
    if attack.prepare is not None:
        attack.prepare(target, victim)
        snapshot.settle(target.amqp_url)
    before = snapshot.take(target.database_url, target.amqp_url, scope)
    result = attack.run(target, victim)
    if isinstance(result, NotRun):
        return Row(attack.name, 0, {}, None, [], "not run", sorted(attack.expected), result.reason)
    snapshot.settle(target.amqp_url)
    after = snapshot.take(target.database_url, target.amqp_url, scope)
    changed = snapshot.changes(before, after)
    answers = {str(status): count for status, count in sorted(result.statuses.items())}
    return Row(
        attack.name,
        sum(result.statuses.values()),
        answers,
        bool(changed),
        changed,
        verdict(result, attack.expected, changed),
        sorted(attack.expected),
        result.note,
    )


def table(rows: list[Row]) -> str:
    header = ("attack", "requests", "answers", "db changed?", "verdict", "note")
    lines = [
        (
            row.attack,
            str(row.requests) if row.verdict != "not run" else "-",
            " ".join(f"{status}x{count}" for status, count in row.answers.items()) or "-",
            {None: "-", True: "YES", False: "no"}[row.db_changed],
            row.verdict,
            row.note,
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header) - 1)]

    def render(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False)) + "  " + cells[-1]

    rule = "  ".join("-" * width for width in widths) + "  " + "-" * 4
    return "\n".join([render(header), rule, *(render(line) for line in lines)])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.security.attacks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=DEFAULT_FLOOD, help="forged requests in the flood row")
    parser.add_argument("--json", type=Path, default=None, help="where the table goes as JSON (.run/attacks.json)")
    args = parser.parse_args()

    target = Target()
    chosen = attacks(args.flood)
    scope = snapshot.Scope(started_at=datetime.now(UTC), event_ids=target.event_ids)
    victims = [Victim(*target.pending_payment()) for _ in chosen]
    for victim in victims:
        scope.order_ids.append(victim.order["orderId"])
        scope.payment_ids.append(victim.payment["paymentId"])

    rows: list[Row] = []
    for attack, victim in zip(chosen, victims, strict=True):
        rows.append(run_one(target, scope, attack, victim))
        print(f"  {attack.name}: {rows[-1].verdict}", file=sys.stderr, flush=True)

    print(table(rows))
    failed = [row.attack for row in rows if row.verdict not in ("ok", "not run")]
    report = {
        "finishedAt": datetime.now(UTC).isoformat(),
        "ok": not failed,
        "failed": failed,
        "rows": [row.as_json() for row in rows],
    }
    destination = args.json or target.run_dir / "attacks.json"
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {destination}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
