"""Refunds, order-svc's side: the client's request (payment-svc decides it), its read, and the refund
views kept from payment-svc's events. Refunds never move the order: a refunded order stays PAID."""
