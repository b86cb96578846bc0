"""The customer's email on a successful payment, sent exactly once per payment: the message itself, its
row in `payment_emails`, the mailer that consumes the outbox's request for it, and SMTP."""
