"""Reconciliation: settles from the gateway's own records the attempts and refunds that webhooks did not,
expires attempts never completed, and publishes again a SUCCESS order-svc has not confirmed."""
