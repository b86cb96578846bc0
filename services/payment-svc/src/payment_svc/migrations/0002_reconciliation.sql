-- Reconciliation: what the reconciler scans, the order service's confirmation of paid orders, and
-- the anomalies an operator must look at.

-- set when order-svc reports the order paid by this payment; a SUCCESS still unconfirmed after a
-- while has its event published again
ALTER TABLE payments ADD COLUMN order_confirmed_at timestamptz;
ALTER TABLE payments ADD COLUMN republished_at timestamptz;

CREATE INDEX payments_initiated_by_age ON payments (created_at) WHERE status = 'INITIATED';
CREATE INDEX payments_success_unconfirmed ON payments (updated_at)
    WHERE status = 'SUCCESS' AND order_confirmed_at IS NULL;

-- reports that contradict what the system already decided (a SUCCESS after a FAILED, a captured
-- amount that differs from the order's): money may have moved, so a person has to decide
CREATE TABLE anomalies (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id  text        NOT NULL,
    order_id    text        NOT NULL,
    kind        text        NOT NULL,
    source      text        NOT NULL,
    event_id    text,
    detail      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolution  text
);
-- one row per report, however often the same report is delivered
CREATE UNIQUE INDEX anomalies_once_per_report ON anomalies (payment_id, kind, coalesce(event_id, ''));
CREATE INDEX anomalies_open ON anomalies (created_at) WHERE resolved_at IS NULL;
