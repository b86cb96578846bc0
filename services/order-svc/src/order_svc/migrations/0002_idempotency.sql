-- Idempotency keys of client POSTs, per merchant. A row is a claim while `in_progress` and the answer
-- to replay once `done`; `claim_id` names the request holding the claim, so a request whose claim was
-- taken over (it looked dead) cannot overwrite the answer of the one that took it.

CREATE TABLE idempotency_keys (
    merchant_id     text        NOT NULL,
    key             text        NOT NULL,
    fingerprint     text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('in_progress', 'done')),
    claim_id        uuid        NOT NULL,
    claimed_at      timestamptz NOT NULL DEFAULT now(),
    response_status integer,
    response_body   bytea,
    content_type    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, key),
    CHECK (status = 'in_progress' OR (response_status IS NOT NULL AND response_body IS NOT NULL))
);
-- for the periodic deletion of expired keys
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
