"""A refund's outcome reported by the gateway: `POST /webhook/refund`'s body, published as
`events.RefundWebhookEnvelope`."""
