-- Each API key's secret sealed beside its digest (AES-256-GCM under KEY_SEALING_KEY, bound to the key id):
-- Razorpay's payment-link and subscription signatures are HMACs keyed by the merchant's secret, made when no
-- request of the merchant's is in hand. NULL for a key made while no sealing key was configured: such a key
-- authenticates as before but cannot sign those callbacks.
ALTER TABLE api_keys ADD COLUMN secret_sealed bytea CHECK (octet_length(secret_sealed) BETWEEN 29 AND 1024);

-- the merchant's newest active key, which signs its callbacks
CREATE INDEX api_keys_active_by_merchant ON api_keys (merchant_id, created_at DESC, key_id DESC)
    WHERE revoked_at IS NULL;
