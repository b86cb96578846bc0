-- Authorise, then capture: an order created for manual capture has its successful payment AUTHORIZED
-- (the money held, not taken) until the merchant captures it; the order is PAID only once it is captured.
ALTER TABLE orders ADD COLUMN manual_capture boolean NOT NULL DEFAULT false;

ALTER TABLE payment_views DROP CONSTRAINT payment_views_status_check;
ALTER TABLE payment_views ADD CONSTRAINT payment_views_status_check
    CHECK (status IN ('INITIATED', 'AUTHORIZED', 'SUCCESS', 'FAILED'));
