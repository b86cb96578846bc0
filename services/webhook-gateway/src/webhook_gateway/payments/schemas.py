"""`POST /webhook/payment`'s body: the very payload that is published (`events.WebhookPayload`), with its
ids narrowed to the id formats at the door."""

from __future__ import annotations

from payments_common import events
from payments_common.ids import GatewayPaymentId, OrderId, PaymentId
from webhook_gateway.ingress.schemas import ReportBody


class PaymentWebhook(events.WebhookPayload, ReportBody):
    """`POST /webhook/payment`'s body. Unknown fields are ignored: gateways add fields over time."""

    orderId: OrderId
    paymentId: PaymentId
    gatewayPaymentId: GatewayPaymentId

    def context(self) -> dict[str, str]:
        return {"order_id": self.orderId, "payment_id": self.paymentId}

    def accepted(self) -> dict[str, str]:
        return {"status": self.status, "gateway_payment_id": self.gatewayPaymentId}
