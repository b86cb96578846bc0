-- The client's request (order-svc's idempotency key, as one logical request however many processes ran
-- it) that created a payment attempt or a refund. When the process that ran it died before the client
-- heard back, the rerun finds what was created by this id instead of creating a second attempt or
-- refund; the unique indexes make a second creation impossible whatever races.

ALTER TABLE payments ADD COLUMN request_id uuid;
CREATE UNIQUE INDEX payments_one_per_request ON payments (request_id) WHERE request_id IS NOT NULL;

ALTER TABLE refunds ADD COLUMN request_id uuid;
CREATE UNIQUE INDEX refunds_one_per_request ON refunds (request_id) WHERE request_id IS NOT NULL;
