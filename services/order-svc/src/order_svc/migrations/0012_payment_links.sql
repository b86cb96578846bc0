-- Payment links (Razorpay's /v1/payment_links): each link is one order of its merchant, paid when that
-- order is paid, and served to the customer at a short URL whose token is random and unguessable (the
-- hosted checkout page, order_svc/checkout/). `status` holds created, paid or cancelled; `expired` is not
-- stored but read: a created link past expire_by is expired (order_svc/payment_links/domain.py), so it is
-- never payable a moment after its time, whatever a sweep would have done.
CREATE TABLE payment_links (
    id               text PRIMARY KEY CHECK (id ~ '^plink_[0-9A-Za-z]{14}$'),
    merchant_id      text        NOT NULL,
    order_id         text        NOT NULL UNIQUE REFERENCES orders (id),
    -- the short URL's path token: 32 random bytes, base64url
    token            text        NOT NULL UNIQUE CHECK (char_length(token) = 43),
    -- the customer's URL, fixed when the link is made (CHECKOUT_URL then, and the token)
    short_url        text        NOT NULL CHECK (char_length(short_url) <= 2200),
    description      text CHECK (char_length(description) <= 2048),
    customer_name    text CHECK (char_length(customer_name) <= 100),
    customer_email   text CHECK (char_length(customer_email) <= 254),
    customer_contact text CHECK (char_length(customer_contact) <= 20),
    expire_by        timestamptz,
    reference_id     text CHECK (char_length(reference_id) BETWEEN 1 AND 40),
    callback_url     text CHECK (char_length(callback_url) <= 2048),
    callback_method  text CHECK (callback_method = 'get'),
    -- json, not jsonb: notes come back verbatim, key order included
    notes            json,
    status           text        NOT NULL DEFAULT 'created' CHECK (status IN ('created', 'paid', 'cancelled')),
    paid_payment_id  text,
    cancelled_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'paid') = (paid_payment_id IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
-- a merchant's reference ids are unique among its links
CREATE UNIQUE INDEX payment_links_reference ON payment_links (merchant_id, reference_id)
    WHERE reference_id IS NOT NULL;
CREATE INDEX payment_links_by_merchant ON payment_links (merchant_id, created_at DESC, id DESC);
