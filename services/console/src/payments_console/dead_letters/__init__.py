"""Dead letters through payment-svc's admin API (the operations `payments-admin dlq` runs): grouped by
queue and reason, one inspected, requeued one by one, by selection or by group, purged after confirming."""
