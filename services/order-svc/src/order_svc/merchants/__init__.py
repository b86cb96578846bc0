"""Merchants and their API keys as data: the ids, the secrets (kept as digests only), the admin API that
creates, lists and revokes them, and the seeding of API_KEYS' merchants at start."""
