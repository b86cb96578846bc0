"""What the payments feature consumes and emits over RabbitMQ: payment-svc's payment events in (one
inbox consumer), `order.paid` out, to payment-svc, on every SUCCESS heard."""

from __future__ import annotations

from order_svc.orders.domain import Order
from order_svc.orders.messages import order_event
from payments_common import events
from payments_common.outbox import OutboxEvent
from payments_common.timeutil import utcnow

PAYMENT_EVENTS_CONSUMER = "order-svc.payment-events"


def order_paid(order: Order, payment: events.PaymentSnapshot) -> OutboxEvent:
    body = events.OrderPaidEvent(orderId=order.id, paymentId=payment.id, merchantId=order.merchant_id, paidAt=utcnow())
    return order_event(body, order.id, events.ORDER_PAID)
