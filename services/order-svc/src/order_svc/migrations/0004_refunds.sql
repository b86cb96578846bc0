-- order-svc's own copy of each refund, kept from payment-svc's refund snapshots (newest `version` wins,
-- as in payment_views), so reading an order or a refund needs no other service. Refunds never move the
-- order: a refunded order stays PAID.

CREATE TABLE refund_views (
    id                text PRIMARY KEY,
    payment_id        text        NOT NULL REFERENCES payment_views (id),
    order_id          text        NOT NULL REFERENCES orders (id),
    amount            bigint      NOT NULL,
    currency          text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('PENDING', 'PROCESSED', 'FAILED')),
    -- json, not jsonb: notes come back verbatim, as an order's do
    notes             json,
    error_code        text,
    error_description text,
    version           integer     NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX refund_views_by_order ON refund_views (order_id, created_at, id);
CREATE INDEX refund_views_by_payment ON refund_views (payment_id);
