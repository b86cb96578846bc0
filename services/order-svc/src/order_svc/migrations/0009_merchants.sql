-- Merchants and their API keys as data: created, listed and revoked through the admin API with no restart.
--
-- A merchant's id is what orders, payments, refunds and idempotency keys are filed under. New merchants get
-- `merch_` + 14 base62 characters; those seeded from API_KEYS keep the id their rows already carry (the key
-- id, as it was when each key was one merchant), so no row changes owner.
CREATE TABLE merchants (
    id          text PRIMARY KEY CHECK (char_length(id) BETWEEN 1 AND 64),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    alert_email text CHECK (char_length(alert_email) <= 254),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Only a SHA-256 digest of each secret is kept: a generated secret is 32 random bytes, far beyond guessing,
-- so a fast digest is enough and every request can afford it (a slow KDF would cost each request its time).
CREATE TABLE api_keys (
    key_id      text PRIMARY KEY CHECK (char_length(key_id) BETWEEN 1 AND 64),
    merchant_id text NOT NULL REFERENCES merchants (id),
    secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_by_merchant ON api_keys (merchant_id, created_at, key_id);
