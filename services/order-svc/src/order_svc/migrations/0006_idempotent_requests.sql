-- The logical request behind an idempotency key: kept when a stale claim is taken over, so that what
-- the dead request created is found by its successor rather than created twice. An order records the
-- request that created it; the unique index is what makes a second creation impossible.

ALTER TABLE idempotency_keys ADD COLUMN request_id uuid;
UPDATE idempotency_keys SET request_id = claim_id;
ALTER TABLE idempotency_keys ALTER COLUMN request_id SET NOT NULL;

ALTER TABLE orders ADD COLUMN request_id uuid;
CREATE UNIQUE INDEX orders_one_per_request ON orders (request_id) WHERE request_id IS NOT NULL;
