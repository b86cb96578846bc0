"""Payment methods through HTTP against the running system: each method settles by the mock gateway's test
values with its own decline on `GET /orders/{id}`, each invalid field is a 400 naming it, and after a card
payment its number and CVV are in no log line, no table of the system's database and no stored
idempotency answer."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from conftest import System

from payments_common.timeutil import utcnow

NO_ORDER = "order_00000000-0000-0000-0000-000000000000"
YEAR = utcnow().year + 3


def card(number: str = "4111 1111 1111 1111", **changes: Any) -> dict[str, Any]:
    method: dict[str, Any] = {
        "type": "card",
        "number": number,
        "expiryMonth": 12,
        "expiryYear": YEAR,
        "cvv": "123",
        "name": "Asha Rao",
    }
    method.update(changes)
    return method


def initiate(system: System, order_id: str, method: Any, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return system.api.post("/payments/initiate", json={"orderId": order_id, "method": method}, headers=headers)


def card_summary(last4: str, network: str | None) -> dict[str, Any]:
    return {"type": "card", "last4": last4, "network": network, "expiryMonth": 12, "expiryYear": YEAR}


@pytest.mark.parametrize(
    ("method", "shown", "order_status", "error"),
    [
        (card(), card_summary("1111", "visa"), "PAID", None),
        (card("5555 5555 5555 4444"), card_summary("4444", "mastercard"), "PAID", None),
        (card("4000 0000 0000 0002"), card_summary("0002", "visa"), "FAILED",
         ("CARD_DECLINED", "The card was declined by the issuing bank")),
        (card("4000000000009995"), card_summary("9995", "visa"), "FAILED",
         ("INSUFFICIENT_FUNDS", "The card has insufficient funds")),
        ({"type": "upi", "vpa": "success@razorpay"}, {"type": "upi", "vpa": "success@razorpay"}, "PAID", None),
        ({"type": "upi", "vpa": "failure@razorpay"}, {"type": "upi", "vpa": "failure@razorpay"}, "FAILED",
         ("UPI_DECLINED", "The payer's bank declined the UPI payment")),
        ({"type": "wallet", "provider": "paytm"}, {"type": "wallet", "provider": "paytm"}, "PAID", None),
        ({"type": "wallet", "provider": "freecharge"}, {"type": "wallet", "provider": "freecharge"}, "FAILED",
         ("WALLET_DECLINED", "The wallet provider declined the payment")),
        ({"type": "netbanking", "bank": "HDFC"}, {"type": "netbanking", "bank": "HDFC"}, "PAID", None),
        ({"type": "netbanking", "bank": "YESB"}, {"type": "netbanking", "bank": "YESB"}, "FAILED",
         ("BANK_DECLINED", "The bank declined the netbanking payment")),
    ],
    ids=["card-visa", "card-mastercard", "card-declined", "card-insufficient-funds", "upi-success", "upi-failure",
         "wallet-success", "wallet-declined", "netbanking-success", "netbanking-declined"],
)  # fmt: skip
def test_each_method_settles_by_its_test_value_with_its_own_decline(
    system: System,
    method: dict[str, Any],
    shown: dict[str, Any],
    order_status: str,
    error: tuple[str, str] | None,
) -> None:
    order = system.create_order()
    r = initiate(system, order["orderId"], method)
    assert r.status_code == 201, r.text
    assert r.json()["method"] == shown

    settled = system.wait_order(order["orderId"], {"PAID", "FAILED"})
    assert settled["status"] == order_status
    payment = settled["payment"]
    assert payment["status"] == ("SUCCESS" if order_status == "PAID" else "FAILED")
    assert payment["method"] == shown
    assert (payment["errorCode"], payment["errorDescription"]) == (error or (None, None))


def test_a_declined_card_can_be_followed_by_a_good_one(system: System) -> None:
    order = system.create_order()
    assert initiate(system, order["orderId"], card("4000 0000 0000 0002")).status_code == 201
    system.wait_order(order["orderId"], {"FAILED"})
    assert initiate(system, order["orderId"], card()).status_code == 201
    paid = system.wait_order(order["orderId"], {"PAID"})
    assert [(p["status"], p["method"]["last4"], p["errorCode"]) for p in paid["payments"]] == [
        ("FAILED", "0002", "CARD_DECLINED"),
        ("SUCCESS", "1111", None),
    ]


def _last_month() -> tuple[int, int]:
    now = utcnow()
    return (12, now.year - 1) if now.month == 1 else (now.month - 1, now.year)


@pytest.mark.parametrize(
    ("method", "field"),
    [
        (card("4111 1111 1111 1112"), "method.number"),
        (card("4111 1111"), "method.number"),
        (card("4111-1111-1111-1111"), "method.number"),
        (card(cvv="12"), "method.cvv"),
        (card("3782 822463 10005", cvv="123"), "method.cvv"),
        (card(expiryMonth=13), "method.expiryMonth"),
        (card(expiryYear=2020), "method.expiryYear"),
        (card(expiryMonth=_last_month()[0], expiryYear=_last_month()[1]), "method.expiryYear"),
        (card(name=""), "method.name"),
        (card(pin="1234"), "method.pin"),
        ({"type": "upi", "vpa": "no-at-sign"}, "method.vpa"),
        ({"type": "wallet", "provider": "applepay"}, "method.provider"),
        ({"type": "netbanking", "bank": "CHAS"}, "method.bank"),
        ({"type": "cash"}, "method.type"),
        ({"number": "4111111111111111"}, "method.type"),
    ],
)
def test_each_invalid_field_is_a_400_naming_it_without_echoing_the_card(
    system: System, method: dict[str, Any], field: str
) -> None:
    r = initiate(system, NO_ORDER, method)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["field"]) == ("BAD_REQUEST_ERROR", field)
    for secret in ("4111", "1112", "378282246310005", '"123"'):
        assert secret not in r.text


# --- a card's number and CVV are nowhere after its payment ----------------------------------------


def _luhn_complete(partial: str) -> str:
    """`partial` with the check digit that makes it a valid card number."""
    for digit in "0123456789":
        candidate = partial + digit
        total = 0
        for position, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def _stored_values(database_url: str) -> list[tuple[str, bytes]]:
    """Every non-null value of every column of every table of the database, as (schema.table.column,
    bytes): bytea as its bytes (`::text` would show it in hex), the rest as PostgreSQL writes it as text."""

    async def dump() -> list[tuple[str, bytes]]:
        conn = await asyncpg.connect(database_url)
        try:
            columns = await conn.fetch(
                """SELECT c.table_schema, c.table_name, c.column_name, c.data_type
                     FROM information_schema.columns c
                     JOIN information_schema.tables t USING (table_schema, table_name)
                    WHERE t.table_type = 'BASE TABLE'
                      AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
                    ORDER BY 1, 2, 3"""
            )
            found: list[tuple[str, bytes]] = []
            for schema, table, column, data_type in columns:
                expression = f'"{column}"' if data_type == "bytea" else f'"{column}"::text'
                query = f'SELECT {expression} AS v FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL'
                for row in await conn.fetch(query):
                    value = row["v"]
                    found.append(
                        (f"{schema}.{table}.{column}", bytes(value) if data_type == "bytea" else value.encode())
                    )
            return found
        finally:
            await conn.close()

    return asyncio.run(dump())


def _holding(values: list[tuple[str, bytes]], needles: list[str]) -> list[str]:
    return sorted({where for where, value in values if any(needle.encode() in value for needle in needles)})


def _log_lines(run_dir: Path) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for path in sorted((run_dir / "logs").glob("*.log")):
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            lines.append((f"{path.name}:{n}", line))
    return lines


def test_a_card_number_and_cvv_are_in_no_log_table_or_stored_answer(system: System) -> None:
    # a number and a name of this run only, so anything found can only come from this payment
    digits = _luhn_complete("4" + "".join(secrets.choice("0123456789") for _ in range(14)))
    spaced = " ".join(digits[i : i + 4] for i in range(0, 16, 4))
    cvv = f"{secrets.randbelow(900) + 100}"
    name = f"Card Holder {uuid.uuid4().hex[:8]}"
    method = card(spaced, cvv=cvv, name=name)
    needles = [digits, spaced, f'"{cvv}"', '"cvv"', name]

    order = system.create_order()
    key = f"card-{uuid.uuid4().hex}"
    first = initiate(system, order["orderId"], method, key)
    assert first.status_code == 201, first.text
    replayed = initiate(system, order["orderId"], method, key)
    assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (201, "true")
    assert replayed.content == first.content
    refused_key = f"card-refused-{uuid.uuid4().hex}"
    refused = initiate(system, order["orderId"], {**method, "cvv": cvv[:2]}, refused_key)
    assert (refused.status_code, refused.json()["error"]["field"]) == (400, "method.cvv")
    paid = system.wait_order(order["orderId"], {"PAID"})
    payment_id = paid["payment"]["id"]
    assert paid["payment"]["method"] == card_summary(digits[-4:], "visa")

    for text in (first.text, refused.text, system.api.get(f"/orders/{order['orderId']}").text):
        assert not [needle for needle in needles if needle in text]

    # the stored idempotency answers, and a fingerprint that is no plain hash of the card
    rows = system.sql(
        "SELECT key, fingerprint, response_body FROM orders.idempotency_keys WHERE key = ANY($1::text[])",
        [key, refused_key],
    )
    assert len(rows) == 2
    body = orjson.dumps({"orderId": order["orderId"], "method": method}, option=orjson.OPT_SORT_KEYS)
    plain = hashlib.sha256(b"json:" + body).hexdigest()
    for row in rows:
        assert plain not in row["fingerprint"]
        stored = f"{row['fingerprint']} {bytes(row['response_body']).decode()}"
        assert not [needle for needle in needles if needle in stored]

    values = _stored_values(system.database_url)
    assert {"orders", "payments", "gateway"} <= {where.split(".", 1)[0] for where, _ in values}
    assert _holding(values, needles) == []
    # the search finds what this payment did store: its summary in every service's schema
    assert {where.split(".", 1)[0] for where in _holding(values, [payment_id])} >= {"orders", "payments", "gateway"}

    lines = _log_lines(system.run_dir)
    assert any(payment_id in line for _, line in lines), "no log line of this payment: are the logs read?"
    assert [where for where, line in lines if any(needle in line for needle in needles)] == []
