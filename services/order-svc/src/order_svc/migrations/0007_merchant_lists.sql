-- Lists and lookups by merchant (the native `GET /orders`, `GET /payments`, `GET /refunds` and the /v1
-- collections), newest first with keyset pagination on (created_at, id).
--
-- The views get the merchant of their order as a column of their own, so that a merchant's page is one
-- range scan of one index, however many rows other merchants have: a join through `orders` would read
-- the merchant's every attempt to sort them. A trigger fills it from the order at insert, so the
-- consumers' upserts stay as they are; the order's merchant never changes, so it never goes stale.

ALTER TABLE payment_views ADD COLUMN merchant_id text;
UPDATE payment_views p SET merchant_id = o.merchant_id FROM orders o WHERE o.id = p.order_id;
ALTER TABLE refund_views ADD COLUMN merchant_id text;
UPDATE refund_views r SET merchant_id = o.merchant_id FROM orders o WHERE o.id = r.order_id;

CREATE FUNCTION merchant_of_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.merchant_id := (SELECT merchant_id FROM orders WHERE id = NEW.order_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER payment_views_merchant BEFORE INSERT ON payment_views
    FOR EACH ROW EXECUTE FUNCTION merchant_of_order();
CREATE TRIGGER refund_views_merchant BEFORE INSERT ON refund_views
    FOR EACH ROW EXECUTE FUNCTION merchant_of_order();

-- newest first, ties broken by id: a keyset cursor (created_at, id) continues exactly where a page ended
CREATE INDEX orders_by_merchant_page ON orders (merchant_id, created_at DESC, id DESC);
CREATE INDEX orders_by_merchant_receipt ON orders (merchant_id, receipt, created_at DESC, id DESC)
    WHERE receipt IS NOT NULL;
CREATE INDEX orders_by_merchant_status ON orders (merchant_id, status, created_at DESC, id DESC);
CREATE INDEX payment_views_by_merchant_page ON payment_views (merchant_id, created_at DESC, id DESC);
CREATE INDEX payment_views_by_merchant_status ON payment_views (merchant_id, status, created_at DESC, id DESC);
CREATE INDEX refund_views_by_merchant_page ON refund_views (merchant_id, created_at DESC, id DESC);
CREATE INDEX refund_views_by_merchant_status ON refund_views (merchant_id, status, created_at DESC, id DESC);
DROP INDEX orders_by_merchant;

-- What the /v1 surface keeps of a payment beyond the attempt: the customer's email and contact given at
-- `POST /v1/payments/create/json`, and the merchant's notes (`PATCH /v1/payments/{id}`). json, not jsonb:
-- notes come back verbatim, as an order's do.
CREATE TABLE payment_details (
    payment_id text PRIMARY KEY REFERENCES payment_views (id),
    email      text CHECK (char_length(email) <= 254),
    contact    text CHECK (char_length(contact) <= 20),
    notes      json,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- What the /v1 surface keeps of a refund beyond payment-svc's: the merchant's `receipt` and the speed it
-- asked for (`POST /v1/payments/{id}/refund`).
CREATE TABLE refund_details (
    refund_id       text PRIMARY KEY REFERENCES refund_views (id),
    receipt         text CHECK (char_length(receipt) <= 40),
    speed_requested text NOT NULL DEFAULT 'normal' CHECK (speed_requested IN ('normal', 'optimum')),
    created_at      timestamptz NOT NULL DEFAULT now()
);
