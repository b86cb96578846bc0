"""`payments-admin`, the operator's console: dead letters, the outboxes, reconciliation and anomalies, each
command group in its module, all through payment-svc's public operations (`payment_svc.operations`)."""
