"""Refunds of a SUCCESS payment: created in order-svc's request, taken to the gateway from the outbox,
settled by the gateway's refund webhook; the payment's refunded total moves with them."""
