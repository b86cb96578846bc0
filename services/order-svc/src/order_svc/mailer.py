"""The customer's email on a successful payment, sent exactly once per payment.

`apply_payment_event` inserts a `payment_emails` row (primary key: the payment id) in the transaction
that first marks the order PAID, and emits `email.payment_succeeded` through the outbox only when the
row was new. The mailer consumes that event and, in one transaction: claims the message in the inbox,
locks the row, skips it unless PENDING, sends through SMTP, marks it SENT. A failed send rolls all of
it back (the failure is counted in a transaction of its own) and the consumer retries through the delay
tiers, then dead-letters.

The one window no transaction can close: the SMTP server accepted the message and the process died (or
the database went away) before the commit. The redelivery sends it again, under the same Message-ID
(derived from the payment id), so mail systems and clients that dedupe on it show one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel

from order_svc import email_message
from order_svc.payment_emails import PENDING, PaymentEmail, PaymentEmailRepository
from order_svc.settings import Settings
from order_svc.smtp import SmtpError, SmtpSender
from payments_common import inbox, methods
from payments_common.consumer import Handler, decode
from payments_common.errors import PermanentError
from payments_common.logging import bound, get_logger
from payments_common.outbox import OutboxEvent
from payments_common.topology import ORDER_EVENTS_EXCHANGE
from payments_common.uow import UnitOfWork

log = get_logger(__name__)

EMAILS_CONSUMER = "order-svc.emails"
PAYMENT_SUCCEEDED_EMAIL = "email.payment_succeeded"


class PaymentEmailRequested(BaseModel):
    """What the mailer is told; the customer's address and name stay in the database, not in messages."""

    type: Literal["email.payment_succeeded"] = "email.payment_succeeded"
    orderId: str
    paymentId: str
    # the payment snapshot's method summary, when payment-svc gave one
    method: dict[str, Any] | None = None


def payment_email_event(order_id: str, payment_id: str, method: dict[str, Any] | None) -> OutboxEvent:
    # only the summary (a card's last 4 digits and network, never its number) goes into the message
    body = PaymentEmailRequested(orderId=order_id, paymentId=payment_id, method=methods.summary_or_none(method))
    return OutboxEvent(
        aggregate_type="order",
        aggregate_id=order_id,
        event_type=PAYMENT_SUCCEEDED_EMAIL,
        exchange=ORDER_EVENTS_EXCHANGE,
        routing_key=PAYMENT_SUCCEEDED_EMAIL,
        payload=body.model_dump(mode="json"),
    )


@dataclass(frozen=True, slots=True)
class MailerDeps:
    pool: asyncpg.Pool
    # None: no SMTP server configured, nothing is sent
    smtp: SmtpSender | None
    sender: str


def _receipt(email: PaymentEmail, event: PaymentEmailRequested) -> email_message.PaymentReceipt:
    return email_message.PaymentReceipt(
        payment_id=email.payment_id,
        order_id=email.order_id,
        amount=email.amount,
        currency=email.currency,
        customer_email=email.customer_email,
        customer_name=email.customer_name,
        method=methods.describe(event.method) if event.method is not None else None,
    )


async def send_payment_email(deps: MailerDeps, message_id: str, event: PaymentEmailRequested) -> None:
    with bound(order_id=event.orderId, payment_id=event.paymentId):
        try:
            async with UnitOfWork(deps.pool) as uow:
                if not await inbox.claim(uow.conn, EMAILS_CONSUMER, message_id):
                    log.info("payment_email.duplicate_ignored")
                    return
                repo = PaymentEmailRepository(uow.conn)
                # the row lock, not the inbox claim, is what makes it once per payment: it holds whatever
                # message asks for this payment, and the send commits (or not) with the row's SENT
                email = await repo.lock(event.paymentId)
                if email is None:
                    raise PermanentError("no email is due for this payment", reason="UNKNOWN_PAYMENT_EMAIL")
                if email.status != PENDING:
                    log.info("payment_email.already_done", status=email.status)
                    return
                if deps.smtp is None:
                    await repo.mark_skipped(email.payment_id)
                    log.info("payment_email.skipped", reason="no SMTP server configured")
                    return
                try:
                    message = email_message.build(_receipt(email, event), deps.sender)
                except ValueError as exc:
                    raise PermanentError(f"the email cannot be built: {exc}", reason="UNSENDABLE_EMAIL") from None
                await deps.smtp.send(message)
                await repo.mark_sent(email.payment_id, str(message["Message-ID"]))
        except SmtpError as exc:
            await _count_failure(deps.pool, event.paymentId, str(exc))
            raise
        log.info("payment_email.sent", attempt=email.attempts + 1)


async def _count_failure(pool: asyncpg.Pool, payment_id: str, error: str) -> None:
    try:
        async with pool.acquire() as conn:
            await PaymentEmailRepository(conn).record_failure(payment_id, error)
    except Exception as exc:
        # only bookkeeping: the retry that follows matters, not the count
        log.warning("payment_email.failure_not_recorded", error=f"{type(exc).__name__}: {exc}")


def payment_emails_handler(deps: MailerDeps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        message_id, event = decode(message, PaymentEmailRequested)
        await send_payment_email(deps, message_id, event)

    return handle


def mailer_deps(pool: asyncpg.Pool, settings: Settings) -> MailerDeps:
    """The mailer's wiring; says once, at start, where mail goes, or that none is sent."""
    smtp = settings.smtp()
    if smtp is None:
        log.warning("mailer.smtp_not_configured", effect="payment emails are not sent; their rows say SKIPPED")
        return MailerDeps(pool=pool, smtp=None, sender=settings.SMTP_FROM)
    log.info("mailer.smtp_configured", smtp=smtp.display(), sender=settings.SMTP_FROM)
    return MailerDeps(pool=pool, smtp=SmtpSender(smtp, settings.SMTP_TIMEOUT_SECONDS), sender=settings.SMTP_FROM)
