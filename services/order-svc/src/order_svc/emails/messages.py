"""What the mailer is asked over RabbitMQ: `email.payment_succeeded`, from order-svc's own outbox to its
own queue (`topology.ORDER_SVC_EMAILS`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from order_svc.orders.messages import order_event
from payments_common import methods
from payments_common.outbox import OutboxEvent

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
    return order_event(body, order_id, PAYMENT_SUCCEEDED_EMAIL)
