"""`POST /webhook/refund`'s body: the very payload that is published (`events.RefundWebhookPayload`), with
its ids narrowed to the id formats at the door.

Unlike a payment report it carries no payment signature: that one binds a gateway payment to an order
for the paying client, who never sees a refund. The Standard Webhooks signature over the raw body is
what vouches for every field here.
"""

from __future__ import annotations

from payments_common import events
from payments_common.ids import GatewayPaymentId, GatewayRefundId, PaymentId, RefundId
from webhook_gateway.ingress.schemas import ReportBody


class RefundWebhook(events.RefundWebhookPayload, ReportBody):
    """Unknown fields are ignored: gateways add fields over time."""

    refundId: RefundId
    paymentId: PaymentId
    gatewayPaymentId: GatewayPaymentId
    gatewayRefundId: GatewayRefundId

    def context(self) -> dict[str, str]:
        return {"refund_id": self.refundId, "payment_id": self.paymentId}

    def accepted(self) -> dict[str, str]:
        return {"status": self.status, "gateway_refund_id": self.gatewayRefundId}
