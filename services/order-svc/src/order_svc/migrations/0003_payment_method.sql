-- How each attempt was paid, as payment-svc's snapshots carry it: the method's summary
-- (payments_common.methods.summary: a card's last 4 digits, network and expiry, never its number or
-- CVV). NULL for an attempt started without a method, and for attempts seen before this column existed
-- until their next snapshot arrives.

ALTER TABLE payment_views ADD COLUMN method jsonb;
