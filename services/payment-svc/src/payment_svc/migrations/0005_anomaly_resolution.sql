-- An operator's resolution of an anomaly (the operators' console, payment-svc's admin API): who resolved
-- it, their note, and the refund it made when the resolution was to give captured money back. And the
-- indexes the admin API's searches and analytics read payments by: a time window, of one merchant or all.

ALTER TABLE anomalies ADD COLUMN resolved_by text;
ALTER TABLE anomalies ADD COLUMN resolution_note text;
ALTER TABLE anomalies ADD COLUMN refund_id text;

CREATE INDEX payments_by_created ON payments (created_at);
CREATE INDEX payments_by_merchant_created ON payments (merchant_id, created_at);
CREATE INDEX refunds_by_created ON refunds (created_at);
