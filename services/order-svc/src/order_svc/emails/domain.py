"""The email a customer gets when their payment succeeds: plain text and HTML, built without I/O; and the
statuses of its row."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from enum import StrEnum

from order_svc.orders.domain import check_header_safe, smtp_address
from payments_common.events import WebhookEndpointDisabled
from payments_common.money import format_amount
from payments_common.timeutil import utcnow


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    payment_id: str
    order_id: str
    amount: int
    currency: str
    customer_email: str
    customer_name: str
    # how the customer paid, as people read it; left out of the email when unknown
    method: str | None = None


FALLBACK_DOMAIN = "payments.local"


def sender_domain(sender: str) -> str:
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2]
    return domain if domain and domain.isascii() else FALLBACK_DOMAIN


def message_id_for(payment_id: str, sender: str) -> str:
    """The same for every send of one payment's email: should the one unavoidable resend happen (the SMTP
    server accepted it, then we died before recording that), receivers can tell it is the same message."""
    # short enough for one header line with the default domain: some receivers mishandle a folded Message-ID
    return f"<paid.{payment_id}@{sender_domain(sender)}>"


def subject_of(receipt: PaymentReceipt) -> str:
    return f"Payment received: {format_amount(receipt.amount, receipt.currency)} for order {receipt.order_id}"


def _details(receipt: PaymentReceipt) -> list[tuple[str, str]]:
    rows = [
        ("Amount", format_amount(receipt.amount, receipt.currency)),
        ("Order", receipt.order_id),
        ("Payment", receipt.payment_id),
    ]
    if receipt.method:
        rows.append(("Method", receipt.method))
    return rows


def plain_text(receipt: PaymentReceipt) -> str:
    amount = format_amount(receipt.amount, receipt.currency)
    lines = [f"Hello {receipt.customer_name},", "", f"we received your payment of {amount}. Thank you.", ""]
    width = max(len(label) for label, _ in _details(receipt)) + 1
    lines += [f"{label + ':':<{width}} {value}" for label, value in _details(receipt)]
    lines += ["", "Keep this email as your receipt."]
    return "\n".join(lines) + "\n"


def html_text(receipt: PaymentReceipt) -> str:
    # every value is the customer's or ours rendered as text: all of it escaped, the name above all
    amount = html.escape(format_amount(receipt.amount, receipt.currency))
    rows = "".join(
        f'<tr><th align="left">{html.escape(label)}</th><td>{html.escape(value)}</td></tr>'
        for label, value in _details(receipt)
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Payment received</title></head><body>\n'
        f"<p>Hello {html.escape(receipt.customer_name)},</p>\n"
        f"<p>we received your payment of <strong>{amount}</strong>. Thank you.</p>\n"
        f"<table>{rows}</table>\n"
        "<p>Keep this email as your receipt.</p>\n"
        "</body></html>\n"
    )


def build(receipt: PaymentReceipt, sender: str) -> EmailMessage:
    """multipart/alternative, plain text first (the fallback), HTML last (preferred by readers that can).

    The customer's name was checked when the order was created; it is checked again here because it
    goes into the To header, where a line break would let it add headers of its own.
    """
    check_header_safe(receipt.customer_name)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = Address(display_name=receipt.customer_name, addr_spec=smtp_address(receipt.customer_email))
    message["Subject"] = subject_of(receipt)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id_for(receipt.payment_id, sender)
    # RFC 3834: a machine sent it; auto-responders should not answer
    message["Auto-Submitted"] = "auto-generated"
    # quoted-printable: the message is 7-bit clean, so no server needs 8BITMIME to carry ₹ or a name
    message.set_content(plain_text(receipt), cte="quoted-printable")
    message.add_alternative(html_text(receipt), subtype="html", cte="quoted-printable")
    return message


class EmailStatus(StrEnum):
    """A payment email row's status: PENDING until SENT, or SKIPPED when no SMTP server is configured."""

    PENDING = "PENDING"
    SENT = "SENT"
    SKIPPED = "SKIPPED"


def alert_message_id(event_id: str, sender: str) -> str:
    # a digest of the event's id: of a bounded length whatever the id's, so the header stays on one line
    return f"<disabled.{hashlib.sha256(event_id.encode()).hexdigest()[:32]}@{sender_domain(sender)}>"


def endpoint_disabled_message(event: WebhookEndpointDisabled, merchant_name: str, to: str, sender: str) -> EmailMessage:
    """The merchant's alert that one of its webhook endpoints was disabled; plain text only (an operator's
    notice, not a receipt). The same Message-ID for every send of one disabling (`event.id`)."""
    check_header_safe(merchant_name)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = Address(display_name=merchant_name, addr_spec=smtp_address(to))
    message["Subject"] = f"Webhook endpoint disabled: {event.endpoint_id}"
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = alert_message_id(event.id, sender)
    message["Auto-Submitted"] = "auto-generated"
    lines = [
        f"Hello {merchant_name},",
        "",
        "one of your webhook endpoints kept failing and has been disabled: no events are sent to it until",
        "you enable it again (PATCH /webhook-endpoints/{id} with status enabled).",
        "",
        f"Endpoint:       {event.endpoint_id}",
        f"URL:            {event.url}",
        f"Failing since:  {event.failing_since.isoformat()}",
        f"Disabled at:    {event.disabled_at.isoformat()}",
    ]
    if event.last_error:
        lines.append(f"Last error:     {event.last_error}")
    message.set_content("\n".join(lines) + "\n", cte="quoted-printable")
    return message
