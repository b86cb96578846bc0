-- Refunds of successful payments. `payments.amount_refunded` is the running total of the refunds that
-- have not failed (PENDING and PROCESSED); its CHECK is the database's own guarantee that no set of
-- refunds, however concurrent, ever gives back more than the payment took.

ALTER TABLE payments ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0;
ALTER TABLE payments ADD CONSTRAINT payments_refunded_within_amount
    CHECK (amount_refunded >= 0 AND amount_refunded <= amount);

CREATE TABLE refunds (
    id                text PRIMARY KEY,
    payment_id        text        NOT NULL REFERENCES payments (id),
    order_id          text        NOT NULL,
    merchant_id       text        NOT NULL,
    amount            bigint      NOT NULL CHECK (amount > 0),
    currency          text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status            text        NOT NULL CHECK (status IN ('PENDING', 'PROCESSED', 'FAILED')),
    -- json, not jsonb: notes come back verbatim, key order included, as an order's do
    notes             json,
    gateway_refund_id text UNIQUE,
    error_code        text,
    error_description text,
    version           integer     NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_by_payment ON refunds (payment_id, created_at);
-- what an operator (or a later reconciler) looks for: refunds the gateway has not reported on yet
CREATE INDEX refunds_pending_by_age ON refunds (created_at) WHERE status = 'PENDING';
