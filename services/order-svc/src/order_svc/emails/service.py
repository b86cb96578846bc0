"""The customer's email on a successful payment, sent exactly once per payment.

`request_email` inserts a `payment_emails` row (primary key: the payment id) in the transaction that
first marks the order PAID, and emits `email.payment_succeeded` through the outbox only when the row was
new. The mailer consumes that event and, in one transaction: claims the message in the inbox, locks the
row, skips it unless PENDING, sends through SMTP, marks it SENT. A failed send rolls all of it back (the
failure is counted in a transaction of its own) and the consumer retries through the delay tiers, then
dead-letters.

`send_endpoint_disabled_email` tells a merchant's alert email that merchant-webhooks disabled one of its
endpoints: once per disabling, the event's id claimed in the inbox in the transaction that sends it.

The one window no transaction can close: the SMTP server accepted the message and the process died (or
the database went away) before the commit. The redelivery sends it again, under the same Message-ID
(derived from the payment id), so mail systems and clients that dedupe on it show one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import asyncpg

from order_svc.emails import domain
from order_svc.emails.messages import EMAILS_CONSUMER, PaymentEmailRequested, payment_email_event
from order_svc.emails.repository import PaymentEmail, PaymentEmailRepository
from order_svc.emails.smtp import SmtpError, SmtpSender
from order_svc.merchants.repository import MerchantRepository
from order_svc.settings import Settings
from payments_common import events, methods, metrics
from payments_common.consumer import Step
from payments_common.errors import PermanentError
from payments_common.events import WebhookEndpointDisabled
from payments_common.inbox import claim_once
from payments_common.logging import bound, get_logger
from payments_common.uow import UnitOfWork

log = get_logger(__name__)


async def request_email(uow: UnitOfWork, order_id: str, payment: events.PaymentSnapshot) -> None:
    """The customer's email, asked for by the SUCCESS that marks the order PAID; a SUCCESS heard again
    (redelivered, republished by the reconciler, replayed) finds the order PAID, and the row's primary
    key (the payment id) would refuse it anyway."""
    if await uow.repo(PaymentEmailRepository).add(payment.id, order_id):
        uow.emit(payment_email_event(order_id, payment.id, payment.method))


@dataclass(frozen=True, slots=True)
class MailerDeps:
    pool: asyncpg.Pool
    # None: no SMTP server configured, nothing is sent
    smtp: SmtpSender | None
    sender: str


def _receipt(email: PaymentEmail, event: PaymentEmailRequested) -> domain.PaymentReceipt:
    return domain.PaymentReceipt(
        payment_id=email.payment_id,
        order_id=email.order_id,
        amount=email.amount,
        currency=email.currency,
        customer_email=email.customer_email,
        customer_name=email.customer_name,
        method=methods.describe(event.method) if event.method is not None else None,
    )


async def _send(deps: MailerDeps, uow: UnitOfWork, event: PaymentEmailRequested, _: str | None) -> None:
    repo = uow.repo(PaymentEmailRepository)
    # the row lock, not the inbox claim, is what makes it once per payment: it holds whatever message
    # asks for this payment, and the send commits (or not) with the row's SENT
    email = await repo.lock(event.paymentId)
    if email is None:
        raise PermanentError("no email is due for this payment", reason="UNKNOWN_PAYMENT_EMAIL")
    if email.status != domain.EmailStatus.PENDING:
        log.info("payment_email.already_done", status=email.status)
        return
    if deps.smtp is None:
        await repo.mark_skipped(email.payment_id)
        metrics.email_sent("skipped")
        log.info("payment_email.skipped", reason="no SMTP server configured")
        return
    try:
        message = domain.build(_receipt(email, event), deps.sender)
    except ValueError as exc:
        raise PermanentError(f"the email cannot be built: {exc}", reason="UNSENDABLE_EMAIL") from None
    await deps.smtp.send(message)
    await repo.mark_sent(email.payment_id, str(message["Message-ID"]))
    metrics.email_sent("sent")
    log.info("payment_email.sent", attempt=email.attempts + 1)


async def _duplicate(_: UnitOfWork, __: PaymentEmailRequested) -> None:
    log.info("payment_email.duplicate_ignored")


def send_payment_email(deps: MailerDeps) -> Step[PaymentEmailRequested]:
    """The mailer's step for each `email.payment_succeeded`: claimed once, sent once."""
    send = claim_once(deps.pool, EMAILS_CONSUMER, partial(_send, deps), on_duplicate=_duplicate)

    async def step(message_id: str, event: PaymentEmailRequested, correlation_id: str | None) -> None:
        with bound(order_id=event.orderId, payment_id=event.paymentId):
            try:
                await send(message_id, event, correlation_id)
            except SmtpError as exc:
                metrics.email_sent("failed")
                await _count_failure(deps.pool, event.paymentId, str(exc))
                raise

    return step


async def _count_failure(pool: asyncpg.Pool, payment_id: str, error: str) -> None:
    try:
        async with UnitOfWork(pool) as uow:
            await uow.repo(PaymentEmailRepository).record_failure(payment_id, error)
    except Exception as exc:
        # only bookkeeping: the retry that follows matters, not the count
        log.warning("payment_email.failure_not_recorded", error=f"{type(exc).__name__}: {exc}")


def mailer_deps(pool: asyncpg.Pool, settings: Settings) -> MailerDeps:
    """The mailer's wiring; says once, at start, where mail goes, or that none is sent."""
    smtp = settings.smtp()
    if smtp is None:
        log.warning("mailer.smtp_not_configured", effect="payment emails are not sent; their rows say SKIPPED")
        return MailerDeps(pool=pool, smtp=None, sender=settings.SMTP_FROM)
    log.info("mailer.smtp_configured", smtp=smtp.display(), sender=settings.SMTP_FROM)
    return MailerDeps(pool=pool, smtp=SmtpSender(smtp, settings.SMTP_TIMEOUT_SECONDS), sender=settings.SMTP_FROM)


# the inbox consumer of the alerts: apart from the payment emails', whose message ids are of another kind
ALERTS_CONSUMER = "order-svc.alert-emails"


async def _send_alert(deps: MailerDeps, uow: UnitOfWork, event: WebhookEndpointDisabled, _: str | None) -> None:
    merchant = await uow.repo(MerchantRepository).get(event.merchant_id)
    if merchant is None or merchant.alert_email is None:
        log.info("endpoint_disabled_email.skipped", reason="the merchant has no alert email")
        return
    if deps.smtp is None:
        log.info("endpoint_disabled_email.skipped", reason="no SMTP server configured")
        return
    try:
        message = domain.endpoint_disabled_message(event, merchant.name, merchant.alert_email, deps.sender)
    except ValueError as exc:
        raise PermanentError(f"the email cannot be built: {exc}", reason="UNSENDABLE_EMAIL") from None
    # sent inside the inbox's transaction: a failed send rolls the claim back and the retry tiers bring the
    # message again; a send whose commit is lost is sent again under the same Message-ID
    await deps.smtp.send(message)
    log.info("endpoint_disabled_email.sent")


def send_endpoint_disabled_email(deps: MailerDeps) -> Step[WebhookEndpointDisabled]:
    """The mailer's step for each `email.webhook_endpoint_disabled`: one email per disabling, deduplicated
    in the inbox by the event's own `id` (the same through every copy the publisher may send)."""
    send = claim_once(deps.pool, ALERTS_CONSUMER, partial(_send_alert, deps))

    async def step(_: str, event: WebhookEndpointDisabled, correlation_id: str | None) -> None:
        with bound(merchant_id=event.merchant_id, endpoint_id=event.endpoint_id):
            try:
                await send(event.id, event, correlation_id)
            except SmtpError as exc:
                log.warning("endpoint_disabled_email.failed", error=str(exc))
                raise

    return step
