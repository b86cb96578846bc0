-- Authorise, then capture: an attempt made for manual capture is AUTHORIZED when the gateway authorises
-- it, then captured (SUCCESS) or voided (FAILED). While AUTHORIZED it is still the order's open attempt.
ALTER TABLE payments ADD COLUMN manual_capture boolean NOT NULL DEFAULT false;

ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('INITIATED', 'AUTHORIZED', 'SUCCESS', 'FAILED'));

-- one open attempt per order: started, or authorised and neither captured nor voided yet
DROP INDEX payments_one_initiated_per_order;
CREATE UNIQUE INDEX payments_one_open_per_order ON payments (order_id) WHERE status IN ('INITIATED', 'AUTHORIZED');

-- the reconciler voids the authorisations nobody captured in time, oldest first
CREATE INDEX payments_authorized_by_age ON payments (updated_at) WHERE status = 'AUTHORIZED';
