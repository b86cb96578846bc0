"""order-svc: the client API (orders, payment attempts, refunds, receipts) and the consumer of payment-svc's
events, one package per thing it owns; `app.py` wires them."""
