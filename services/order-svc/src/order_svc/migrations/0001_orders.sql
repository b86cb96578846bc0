-- Orders are owned here. `payment_views` is order-svc's own copy of the payment attempts, kept from
-- payment-svc's events (newest `version` wins), so reading an order needs no other service.

CREATE TABLE orders (
    id          text PRIMARY KEY,
    merchant_id text        NOT NULL,
    amount      bigint      NOT NULL CHECK (amount > 0 AND amount <= 10000000000),
    currency    text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status      text        NOT NULL DEFAULT 'CREATED' CHECK (status IN ('CREATED', 'PAID', 'FAILED')),
    receipt     text,
    -- json, not jsonb: notes come back verbatim, key order included
    notes       json,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_by_merchant ON orders (merchant_id, created_at);

CREATE TABLE payment_views (
    id                 text PRIMARY KEY,
    order_id           text        NOT NULL REFERENCES orders (id),
    status             text        NOT NULL CHECK (status IN ('INITIATED', 'SUCCESS', 'FAILED')),
    amount             bigint      NOT NULL,
    currency           text        NOT NULL,
    gateway_payment_id text,
    signature          text,
    error_code         text,
    error_description  text,
    version            integer     NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX payment_views_by_order ON payment_views (order_id, created_at, id);
