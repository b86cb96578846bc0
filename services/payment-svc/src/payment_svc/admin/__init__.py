"""The operator's side of payment-svc: the admin API behind ADMIN_TOKEN, and the live operations it and the
`payments-admin` console share (dead-letter queues on the broker, the services' outbox backlog)."""
