"""A payment's outcome reported by the gateway: `POST /webhook/payment`'s body, checked twice (the
Standard Webhooks signature and the payment signature), published as `events.WebhookEnvelope`."""
