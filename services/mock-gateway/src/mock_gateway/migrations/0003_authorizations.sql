-- Authorise, then capture: a payment created with `capture: manual` is `authorized` by its webhook (which
-- reports AUTHORIZED), then `captured` or `voided` by the capture and void calls, exactly one of the two.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('created', 'captured', 'failed', 'authorized', 'voided'));

ALTER TABLE deliveries DROP CONSTRAINT deliveries_reported_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_reported_status_check
    CHECK (reported_status IN ('SUCCESS', 'FAILED', 'PROCESSED', 'AUTHORIZED'));
ALTER TABLE deliveries DROP CONSTRAINT deliveries_sets_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_sets_status_check
    CHECK (sets_status IN ('captured', 'failed', 'authorized'));
