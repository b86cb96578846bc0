"""Idempotency keys on client POSTs, with Stripe's semantics, per merchant: the middleware, the key's
fingerprint rules, its table and the purge of expired keys."""
