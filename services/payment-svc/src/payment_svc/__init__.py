"""payment-svc: payment attempts and refunds at the gateway, the reports that settle them, reconciliation,
and the operators' side (the admin API and `operations`, the entry point of operators' tools)."""
