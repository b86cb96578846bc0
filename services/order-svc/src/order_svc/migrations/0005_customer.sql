-- The customer a paid order's receipt email goes to (optional, both parts or neither), and one row per
-- payment whose success is to be emailed. The row's primary key is what makes the email once per
-- payment: it is inserted (ON CONFLICT DO NOTHING) in the transaction that marks the order PAID, and
-- the mailer locks it, sends, and marks it SENT in one transaction.

ALTER TABLE orders
    ADD COLUMN customer_email text CHECK (char_length(customer_email) BETWEEN 3 AND 254),
    ADD COLUMN customer_name  text CHECK (char_length(customer_name) BETWEEN 1 AND 100),
    ADD CONSTRAINT orders_customer_complete CHECK ((customer_email IS NULL) = (customer_name IS NULL));

CREATE TABLE payment_emails (
    payment_id text PRIMARY KEY,
    order_id   text        NOT NULL REFERENCES orders (id),
    -- SKIPPED: no SMTP server was configured when the mailer took it
    status     text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'SKIPPED')),
    -- every send tried, failed ones included (those are counted outside the failed transaction)
    attempts   integer     NOT NULL DEFAULT 0,
    last_error text,
    -- the Message-ID header sent, derived from the payment id
    message_id text,
    sent_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'SENT' OR (message_id IS NOT NULL AND sent_at IS NOT NULL))
);
CREATE INDEX payment_emails_by_order ON payment_emails (order_id);
