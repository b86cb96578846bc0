"""The way in every webhook shares: the allowlist and rate limits, the signature and digest checks,
the shared steps of the views, the answers, and the durable publish to the broker."""
