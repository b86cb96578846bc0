"""The customer's email on a successful payment, through HTTP against the running system and the stack's
mail catcher (`MAIL_DIR`): one email per paid order with a customer, with a plain text and an HTML part,
and no second one for a replayed webhook, a duplicate SUCCESS, or an order-svc killed and restarted.

"Nothing more came" is asserted only once every message about the payment has been handled: each
webhook the gateway sent claimed by payment-svc (and each copy we replayed turned away), each event payment-svc emitted
about the payment claimed by order-svc, and each email event claimed by order-svc's mailer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import orjson
import pytest
from conftest import System

from payments_common.money import format_amount
from payments_common.signatures import sign_webhook

EMAIL_EVENT = "email.payment_succeeded"


@pytest.fixture(scope="module")
def mail_dir() -> Path:
    value = os.environ.get("MAIL_DIR")
    if not value:
        pytest.skip("MAIL_DIR is not set: payments-stack exec runs the mail catcher unless SMTP_URL names a server")
    return Path(value)


def mails_to(mail_dir: Path, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        if str(message["X-RcptTo"]) == address:
            found.append(message)
    return found


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def unique_address(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def _all_claimed(system: System, schema: str, consumer: str, message_ids: list[str]) -> bool:
    claimed = system.sql(
        f"""SELECT count(DISTINCT message_id) AS n FROM {schema}.inbox
             WHERE consumer = $1 AND message_id = ANY($2::text[])""",
        consumer,
        message_ids,
    )[0]["n"]
    return bool(claimed == len(set(message_ids)))


def _published(system: System, query: str, *args: Any) -> list[str] | None:
    """The ids of the outbox rows `query` selects, or None while one of them is still unpublished."""
    rows = system.sql(query, *args)
    return None if any(row["published_at"] is None for row in rows) else [str(row["id"]) for row in rows]


def everything_handled(system: System, order_id: str, payment_id: str) -> bool:
    """Every message about the payment has reached the end of its way (see the module docstring)."""
    deliveries = system.sql("SELECT event_id, state FROM gateway.deliveries WHERE payment_id = $1", payment_id)
    if any(row["state"] == "pending" for row in deliveries):
        return False
    webhooks = [row["event_id"] for row in deliveries]
    if not _all_claimed(system, "payments", "payment-svc.webhooks", webhooks):
        return False
    payment_events = _published(
        system, "SELECT id, published_at FROM payments.outbox WHERE aggregate_id = $1", payment_id
    )
    if payment_events is None or not _all_claimed(system, "orders", "order-svc.payment-events", payment_events):
        return False
    emails = _published(
        system,
        "SELECT id, published_at FROM orders.outbox WHERE aggregate_id = $1 AND event_type = $2",
        order_id,
        EMAIL_EVENT,
    )
    return emails is not None and _all_claimed(system, "orders", "order-svc.emails", emails)


def email_row(system: System, payment_id: str) -> dict[str, Any] | None:
    rows = system.sql(
        "SELECT status, attempts, message_id FROM orders.payment_emails WHERE payment_id = $1", payment_id
    )
    return rows[0] if rows else None


def pay(system: System, order: dict[str, Any], vpa: str = "success@razorpay") -> dict[str, Any]:
    r = system.initiate(order["orderId"], vpa=vpa)
    assert r.status_code == 201, r.text
    return dict(r.json())


def replay_gateway_webhook(system: System, payment_id: str, times: int) -> Callable[[], bool]:
    """The settlement webhook the gateway delivered, sent again as captured: its very body under its event
    id (signed afresh, as any resend inside the tolerance window is). Returns a check that holds once
    payment-svc has turned every copy away (its trail notes each as `duplicate_ignored`)."""
    [delivered] = system.sql(
        "SELECT event_id, body FROM gateway.deliveries WHERE payment_id = $1 AND purpose = 'settlement'", payment_id
    )
    event_id = delivered["event_id"]

    def turned_away() -> int:
        return int(
            system.sql(
                """SELECT count(*) AS n FROM payments.payment_events
                    WHERE payment_id = $1 AND event_id = $2 AND kind = 'duplicate_ignored'""",
                payment_id,
                event_id,
            )[0]["n"]
        )

    before = turned_away()
    for _ in range(times):
        headers = sign_webhook(system.webhook_key, event_id, delivered["body"]).as_dict()
        headers["content-type"] = "application/json"
        r = system.raw.post(f"{system.webhook_url}/webhook/payment", content=delivered["body"], headers=headers)
        assert r.status_code == 200, r.text
    return lambda: turned_away() >= before + times


def publish_success_again(system: System, order_id: str, payment_id: str) -> str:
    """payment-svc's SUCCESS event for the payment, delivered to order-svc once more under a new message id,
    as the reconciler's republish or a broker redelivery after a lost ack would."""
    [view] = system.sql(
        """SELECT v.*, o.merchant_id FROM orders.payment_views v JOIN orders.orders o ON o.id = v.order_id
            WHERE v.id = $1""",
        payment_id,
    )
    snapshot = {
        "id": payment_id,
        "orderId": order_id,
        "merchantId": view["merchant_id"],
        "amount": view["amount"],
        "currency": view["currency"],
        "status": "SUCCESS",
        "gatewayPaymentId": view["gateway_payment_id"],
        "signature": view["signature"],
        "version": view["version"],
        "createdAt": view["created_at"].isoformat(),
        "updatedAt": view["updated_at"].isoformat(),
    }
    message_id = str(uuid.uuid4())

    async def publish() -> None:
        connection = await aio_pika.connect(system.amqp_url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange("payments.events")
            body = orjson.dumps({"type": "payment.succeeded", "payment": snapshot})
            await exchange.publish(
                aio_pika.Message(body, message_id=message_id, content_type="application/json"),
                routing_key="payment.succeeded",
                mandatory=True,
            )
        finally:
            await connection.close()

    asyncio.run(publish())
    return message_id


def assert_one_receipt(mail_dir: Path, address: str, order_id: str, payment_id: str) -> EmailMessage:
    [message] = mails_to(mail_dir, address)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None and text is not html
    amount = format_amount(1500, "INR")
    for part in (text, html):
        content = part.get_content()
        assert amount in content and order_id in content and payment_id in content
    assert message["Subject"] == f"Payment received: {amount} for order {order_id}"
    assert message["Message-ID"].strip() == f"<paid.{payment_id}@payments.local>"
    return message


def test_a_paid_order_emails_its_customer_once(system: System, mail_dir: Path) -> None:
    address = unique_address("buyer")
    customer = {"email": address, "name": "Asha <Rao> & Co"}
    order = system.create_order(1500, "INR", customer=customer)
    assert order["customer"] == customer
    assert system.get_order(order["orderId"])["customer"] == customer
    payment = pay(system, order)
    assert system.wait_order(order["orderId"], {"PAID", "FAILED"})["status"] == "PAID"

    wait_for(lambda: mails_to(mail_dir, address), f"an email to {address}")
    message = assert_one_receipt(mail_dir, address, order["orderId"], payment["paymentId"])
    assert message["To"].addresses[0].display_name == "Asha <Rao> & Co"
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "Asha &lt;Rao&gt; &amp; Co" in html.get_content()

    # the gateway's own webhook sent again, twice, byte for byte under its id; and a SUCCESS delivered to
    # order-svc once more
    replays_handled = replay_gateway_webhook(system, payment["paymentId"], times=2)
    again = publish_success_again(system, order["orderId"], payment["paymentId"])
    wait_for(
        lambda: (
            replays_handled()
            and everything_handled(system, order["orderId"], payment["paymentId"])
            and system.sql("SELECT 1 FROM orders.inbox WHERE message_id = $1", again)
        ),
        "every copy handled",
    )
    assert_one_receipt(mail_dir, address, order["orderId"], payment["paymentId"])
    assert email_row(system, payment["paymentId"]) == {
        "status": "SENT",
        "attempts": 1,
        "message_id": f"<paid.{payment['paymentId']}@payments.local>",
    }


def test_the_gateways_duplicate_webhooks_send_one_email(system: System, mail_dir: Path) -> None:
    address = unique_address("dup")
    order = system.create_order(1500, "INR", customer={"email": address, "name": "Dup"})
    # the gateway sends its SUCCESS twice at once under one id, and once more under another
    payment = pay(system, order, vpa="success.duplicate@razorpay")
    assert system.wait_order(order["orderId"], {"PAID", "FAILED"})["status"] == "PAID"
    wait_for(lambda: everything_handled(system, order["orderId"], payment["paymentId"]), "every copy handled")
    assert_one_receipt(mail_dir, address, order["orderId"], payment["paymentId"])


def test_an_order_without_a_customer_sends_no_email(system: System, mail_dir: Path) -> None:
    order = system.create_order(1500, "INR")
    assert order["customer"] is None
    assert system.get_order(order["orderId"])["customer"] is None
    payment = pay(system, order)
    assert system.wait_order(order["orderId"], {"PAID", "FAILED"})["status"] == "PAID"
    wait_for(lambda: everything_handled(system, order["orderId"], payment["paymentId"]), "every message handled")
    assert email_row(system, payment["paymentId"]) is None
    emails = system.sql(
        "SELECT count(*) AS n FROM orders.outbox WHERE aggregate_id = $1 AND event_type = $2",
        order["orderId"],
        EMAIL_EVENT,
    )
    assert emails[0]["n"] == 0
    assert not any(order["orderId"] in path.read_text(errors="replace") for path in mail_dir.glob("*.eml"))


def _order_svc_up(system: System) -> bool:
    try:
        return httpx.get(f"{system.api_url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _kill_order_svc_and_wait_for_restart(system: System) -> None:
    old = system.pid("order-svc")
    os.kill(old, signal.SIGKILL)

    def restarted() -> bool:
        try:
            pid = system.pid("order-svc")
        except (FileNotFoundError, ValueError):
            return False
        return pid != old and _order_svc_up(system)

    wait_for(restarted, "order-svc restarted by the stack")


def test_order_svc_killed_around_the_payment_still_sends_one_email(system: System, mail_dir: Path) -> None:
    address = unique_address("restart")
    order = system.create_order(1500, "INR", customer={"email": address, "name": "Restart"})
    payment = pay(system, order, vpa="pending@razorpay")
    # the SUCCESS arrives and order-svc dies at once: in the middle of applying it, emailing, or before
    assert system.webhook(order, payment).status_code == 200
    _kill_order_svc_and_wait_for_restart(system)
    assert system.wait_order(order["orderId"], {"PAID", "FAILED"}, timeout=60)["status"] == "PAID"
    wait_for(lambda: mails_to(mail_dir, address), f"an email to {address}", timeout=60)
    wait_for(lambda: everything_handled(system, order["orderId"], payment["paymentId"]), "every message handled")
    assert_one_receipt(mail_dir, address, order["orderId"], payment["paymentId"])

    # and a restart after it was sent: whatever order-svc finds on coming back sends nothing more
    _kill_order_svc_and_wait_for_restart(system)
    again = publish_success_again(system, order["orderId"], payment["paymentId"])
    wait_for(lambda: system.sql("SELECT 1 FROM orders.inbox WHERE message_id = $1", again), "the SUCCESS handled again")
    wait_for(lambda: everything_handled(system, order["orderId"], payment["paymentId"]), "every message handled")
    assert_one_receipt(mail_dir, address, order["orderId"], payment["paymentId"])
    row = email_row(system, payment["paymentId"])
    assert row is not None and row["status"] == "SENT"


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        ({"email": "not-an-address", "name": "A"}, "customer.email"),
        ({"email": "a@example.com", "name": ""}, "customer.name"),
        ({"email": "a@example.com", "name": "A\r\nBcc: b@example.com"}, "customer.name"),
        ({"email": "a@example.com", "name": "A", "extra": 1}, "customer.extra"),
        ({"email": "a@example.com"}, "customer.name"),
    ],
)
def test_an_invalid_customer_is_400_with_the_field(system: System, customer: dict[str, Any], field: str) -> None:
    r = system.api.post("/orders", json={"amount": 1500, "currency": "INR", "customer": customer})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["field"]) == ("BAD_REQUEST_ERROR", field)
