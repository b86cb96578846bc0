-- Payments own their attempts. `order_payments` is payment-svc's own record of each order it has been
-- asked to take payment for: its row lock serialises attempts and settlements of one order.

CREATE TABLE order_payments (
    order_id        text PRIMARY KEY,
    merchant_id     text        NOT NULL,
    amount          bigint      NOT NULL CHECK (amount > 0),
    currency        text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    paid_payment_id text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
    id                 text PRIMARY KEY,
    order_id           text        NOT NULL REFERENCES order_payments (order_id),
    merchant_id        text        NOT NULL,
    amount             bigint      NOT NULL CHECK (amount > 0),
    currency           text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    method             jsonb,
    status             text        NOT NULL CHECK (status IN ('INITIATED', 'SUCCESS', 'FAILED')),
    gateway_payment_id text UNIQUE,
    signature          text,
    error_code         text,
    error_description  text,
    settled_by         text,
    version            integer     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- the database itself holds the rules the state machine states: one attempt in flight per order,
-- and one successful attempt per order
CREATE UNIQUE INDEX payments_one_initiated_per_order ON payments (order_id) WHERE status = 'INITIATED';
CREATE UNIQUE INDEX payments_one_success_per_order ON payments (order_id) WHERE status = 'SUCCESS';
CREATE INDEX payments_by_order ON payments (order_id, created_at);

-- what happened to each payment, including events that changed nothing (duplicates, conflicts,
-- mismatches): the trail an operator reads
CREATE TABLE payment_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id text        NOT NULL,
    kind       text        NOT NULL,
    source     text        NOT NULL,
    event_id   text,
    detail     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_events_by_payment ON payment_events (payment_id, id);
