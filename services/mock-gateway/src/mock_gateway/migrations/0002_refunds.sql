-- Refunds at the gateway: its own record of each (idempotent on the merchant's refund id), reported by
-- a webhook through the same durable deliveries as payments, sent to the path each delivery names.

CREATE TABLE refunds (
    id                 text PRIMARY KEY,
    refund_id          text        NOT NULL UNIQUE,
    gateway_payment_id text        NOT NULL REFERENCES payments (id),
    payment_id         text        NOT NULL,
    amount             bigint      NOT NULL CHECK (amount > 0),
    currency           text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('pending', 'processed', 'failed')),
    -- what the refund becomes once its webhook falls due: decided at creation, like a payment's plan
    outcome            text        NOT NULL CHECK (outcome IN ('processed', 'failed')),
    error_code         text,
    error_description  text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_by_payment ON refunds (gateway_payment_id);

-- a delivery is sent to `path` under the webhook gateway's URL; a refund's names its refund
ALTER TABLE deliveries ADD COLUMN path text NOT NULL DEFAULT '/webhook/payment';
ALTER TABLE deliveries ADD COLUMN refund_id text REFERENCES refunds (id);
ALTER TABLE deliveries DROP CONSTRAINT deliveries_reported_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_reported_status_check
    CHECK (reported_status IN ('SUCCESS', 'FAILED', 'PROCESSED'));
ALTER TABLE deliveries DROP CONSTRAINT deliveries_purpose_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_purpose_check
    CHECK (purpose IN ('settlement', 'duplicate', 'late_success', 'refund'));
CREATE INDEX deliveries_by_refund ON deliveries (refund_id) WHERE refund_id IS NOT NULL;
