"""The SQL of `benchmarks.preload`: the session's temporary tables, one batch's rows, and the inserts that
turn each row into what a settled lifecycle leaves in every table (see `benchmarks.preload` for what and
why). The names follow the services' migrations; `tests/integration/test_bench_preload.py` checks the
rows against the services' own queries and the chaos tier's invariants."""

from __future__ import annotations

# every table a batch writes, for VACUUM (ANALYZE) at the end
TABLES = (
    "orders.merchants",
    "orders.orders",
    "orders.payment_views",
    "orders.outbox",
    "orders.inbox",
    "payments.order_payments",
    "payments.payments",
    "payments.payment_events",
    "payments.outbox",
    "payments.inbox",
    "gateway.payments",
    "gateway.deliveries",
    "gateway.delivery_attempts",
    "merchant_webhooks.events",
    "merchant_webhooks.inbox",
)

SETUP = """
CREATE SCHEMA IF NOT EXISTS bench_preload;
CREATE TABLE IF NOT EXISTS bench_preload.batches (
    first   bigint PRIMARY KEY,
    last    bigint      NOT NULL,
    done_at timestamptz NOT NULL DEFAULT now()
);
"""


def _uuid7(ms: str, hex_chars: str) -> str:
    """SQL for a UUIDv7 of the epoch milliseconds `ms` (a bigint expression) and 18 random hex characters
    (`hex_chars`, an expression): 48 bits of time, version 7, 72 random bits, the RFC variant. Inline and
    from a hash the row computes once: gen_random_uuid() per id costs more than the rest of the row."""
    return (
        f"(lpad(to_hex({ms}), 12, '0') || '7' || substr({hex_chars}, 1, 3) || '8' || substr({hex_chars}, 4, 15))::uuid"
    )


def _hex(h: str, k: int) -> str:
    """The k-th 18 hex characters of the row's hash `h` (128 of them)."""
    return f"substr({h}, {1 + 18 * k}, 18)"


# per connection: the methods (the mock gateway's test values) and the batch's rows
SESSION = """
CREATE TEMP TABLE preload_methods (kind int, ok boolean, method jsonb, error_code text, error_description text);
INSERT INTO preload_methods VALUES
  (0, true,  '{"type": "card", "last4": "1111", "network": "visa", "expiryYear": 2035, "expiryMonth": 12}', NULL, NULL),
  (1, true,  '{"type": "upi", "vpa": "success@razorpay"}', NULL, NULL),
  (2, true,  '{"type": "wallet", "provider": "paytm"}', NULL, NULL),
  (3, true,  '{"type": "netbanking", "bank": "HDFC"}', NULL, NULL),
  (0, false, '{"type": "card", "last4": "0002", "network": "visa", "expiryYear": 2035, "expiryMonth": 12}',
   'CARD_DECLINED', 'The card was declined by the issuing bank'),
  (1, false, '{"type": "upi", "vpa": "failure@razorpay"}', 'UPI_DECLINED',
   'The payer''s bank declined the UPI payment'),
  (2, false, '{"type": "wallet", "provider": "freecharge"}', 'WALLET_DECLINED',
   'The wallet provider declined the payment'),
  (3, false, '{"type": "netbanking", "bank": "YESB"}', 'BANK_DECLINED', 'The bank declined the netbanking payment');
-- what each JSON document holds that depends on the method and outcome only: a row adds its own fields to it
-- (building a document key by key costs most of a row's time)
ALTER TABLE preload_methods ADD COLUMN entity jsonb, ADD COLUMN snapshot jsonb;
UPDATE preload_methods SET
  entity = jsonb_build_object(
      'vpa', method->'vpa', 'bank', method->'bank', 'card', NULL, 'email', NULL, 'notes', '{}'::jsonb,
      'entity', 'payment', 'method', method->>'type', 'status', CASE WHEN ok THEN 'captured' ELSE 'failed' END,
      'wallet', method->'provider', 'contact', NULL, 'captured', ok, 'currency', 'INR', 'error_code', error_code,
      'error_step', NULL, 'error_reason', NULL, 'error_source', NULL, 'refund_status', NULL, 'amount_refunded', 0,
      'error_description', error_description),
  snapshot = jsonb_build_object(
      'method', method, 'status', CASE WHEN ok THEN 'SUCCESS' ELSE 'FAILED' END, 'version', 3, 'currency', 'INR',
      'errorCode', error_code, 'errorDescription', error_description);
CREATE TEMP TABLE preload_rows (
    i bigint, order_id text, merchant_id text, amount bigint, status text, receipt text,
    t0 timestamptz, t1 timestamptz, t2 timestamptz, t3 timestamptz, t4 timestamptz, t5 timestamptz,
    payment_id text, gw_id text, evt_id text, signature text, correlation text,
    method jsonb, error_code text, error_description text,
    ob_init uuid, ob_settle uuid, ob_mpay uuid, ob_paid uuid, ob_mpaid uuid,
    -- each JSON document built once, for the rows that hold it or a variant of it
    snapshot jsonb, mpay jsonb, mpaid jsonb,
    -- within the services' retention of published outbox rows, of inbox claims
    keep_outbox boolean, keep_inbox boolean
) ON COMMIT DELETE ROWS;
"""

# one batch's rows: $1..$2 the orders' numbers, $3 the merchants (biggest first), $4 the first order's time
# in epoch milliseconds, $5 milliseconds between orders, $6 the preload's seed (each row's ids come from two
# SHA-512s of (seed, number), one hash call for seven ids), $7 and $8 the oldest epoch milliseconds the
# services' retention keeps of published outbox rows and of inbox claims. The timeline of each lifecycle follows a real
# run's (ms1 the attempt, +60 its gateway answer, +180 the settlement webhook applied, +280 the order
# settled, +380 the order's events consumed)
FILL = f"""
WITH base AS (
    SELECT i, ($4::float8 + (i - 1) * $5::float8)::bigint AS ms0, $3::text[] AS merchants, random() AS pick,
           random() AS outcome, encode(sha512(convert_to($6 || ':' || i, 'UTF8')), 'hex') AS h1,
           encode(sha512(convert_to($6 || ';' || i, 'UTF8')), 'hex') AS h2
      FROM generate_series($1::bigint, $2::bigint) AS i
), timed AS (
    SELECT b.*, b.ms0 + 2000 + floor(random() * 60000)::bigint AS ms1 FROM base b
), picked AS (
    SELECT t.*, s.status, m.method, m.error_code, m.error_description, m.entity AS entity_base,
           m.snapshot AS snapshot_base,
           'gw_' || {_uuid7("ms1 + 30", _hex("h1", 0))} AS gw_id,
           'pay_' || {_uuid7("ms1", _hex("h1", 1))} AS payment_id,
           'order_' || {_uuid7("ms0", _hex("h1", 2))} AS order_id,
           merchants[1 + floor(pick * pick * cardinality(merchants))::int] AS merchant_id,
           100 + floor(random() * 500000)::bigint AS amount,
           to_timestamp(ms0 / 1000.0) AS t0, to_timestamp(ms1 / 1000.0) AS t1,
           -- merchant event ids: 20 base62 characters (the base64 of 15 bytes, two symbols swapped)
           'evt_' || translate(encode(decode(substr(h2, 69, 30), 'hex'), 'base64'), '+/', 'Pq') AS mevt_pay,
           'evt_' || translate(encode(decode(substr(h2, 99, 30), 'hex'), 'base64'), '+/', 'Pq') AS mevt_paid
      FROM timed t
     CROSS JOIN LATERAL (SELECT CASE WHEN outcome < 0.72 THEN 'PAID' WHEN outcome < 0.90 THEN 'FAILED'
                                     ELSE 'CREATED' END AS status) s
     -- the method types rotate, as the bench's own lifecycles do; a FAILED order's is a declining one
     CROSS JOIN LATERAL (SELECT * FROM preload_methods m
                          WHERE m.kind = t.i % 4 AND m.ok = (s.status <> 'FAILED') LIMIT 1) m
), signed AS (
    SELECT p.*, encode(sha256(convert_to(gw_id, 'UTF8')), 'hex') AS signature, e.entity
      FROM picked p
     -- the payment as merchant events carry it (Razorpay's entity)
     CROSS JOIN LATERAL (SELECT CASE WHEN status <> 'CREATED' THEN entity_base || jsonb_build_object(
           'id', payment_id, 'amount', amount, 'order_id', order_id, 'created_at', ms1 / 1000) END AS entity) e
)
INSERT INTO preload_rows
SELECT i, order_id, merchant_id, amount, status, CASE WHEN i % 2 = 0 THEN 'receipt#' || i END,
       t0, t1, t1 + interval '60 ms', t1 + interval '180 ms', t1 + interval '280 ms', t1 + interval '380 ms',
       payment_id, gw_id, 'evt_' || {_uuid7("ms1 + 30", _hex("h1", 3))}, signature, 'req_' || substr(h2, 37, 32),
       method, error_code, error_description,
       {_uuid7("ms1 + 60", _hex("h1", 4))}, {_uuid7("ms1 + 180", _hex("h1", 5))},
       {_uuid7("ms1 + 280", _hex("h1", 6))}, {_uuid7("ms1 + 280", _hex("h2", 0))},
       {_uuid7("ms1 + 280", _hex("h2", 1))},
       -- the settled attempt as payment-svc's events carry it
       CASE WHEN status <> 'CREATED' AND ms1 >= $7::float8 THEN snapshot_base || jsonb_build_object(
           'id', payment_id, 'amount', amount, 'orderId', order_id, 'createdAt', t1, 'signature', signature,
           'updatedAt', t1 + interval '180 ms', 'merchantId', merchant_id, 'gatewayPaymentId', gw_id) END,
       -- order-svc's merchant events, as its outbox carries them
       CASE WHEN status <> 'CREATED' THEN jsonb_build_object(
           'id', mevt_pay, 'event', CASE WHEN status = 'PAID' THEN 'payment.captured' ELSE 'payment.failed' END,
           'payload', jsonb_build_object('payment', jsonb_build_object('entity', entity)),
           'contains', jsonb_build_array('payment'), 'created_at', (ms1 + 280) / 1000, 'merchant_id', merchant_id)
       END,
       CASE WHEN status = 'PAID' THEN jsonb_build_object(
           'id', mevt_paid, 'event', 'order.paid',
           'payload', jsonb_build_object(
               'order', jsonb_build_object('entity', '{{"notes": {{}}, "entity": "order", "status": "paid",
                   "attempts": 1, "currency": "INR", "offer_id": null, "amount_due": 0}}'::jsonb || jsonb_build_object(
                   'id', order_id, 'amount', amount, 'receipt', CASE WHEN i % 2 = 0 THEN 'receipt#' || i END,
                   'created_at', ms0 / 1000, 'amount_paid', amount)),
               'payment', jsonb_build_object('entity', entity)),
           'contains', jsonb_build_array('payment', 'order'), 'created_at', (ms1 + 280) / 1000,
           'merchant_id', merchant_id)
       END,
       ms1 >= $7::float8, ms1 >= $8::float8
  FROM signed
"""

# the initiated attempt: the settled one as it was before its webhook
_INITIATED = """snapshot || jsonb_build_object('status', 'INITIATED', 'version', 2, 'updatedAt', t2, 'errorCode', NULL,
                                    'errorDescription', NULL)"""
# merchant-webhooks' record of a merchant event: the bytes it sends, Razorpay's envelope
_RECEIVED = """convert_to(({payload} - 'id' - 'merchant_id'
                        || jsonb_build_object('entity', 'event', 'account_id', merchant_id))::text, 'UTF8')"""
_SETTLED_ROWS = "FROM preload_rows WHERE status <> 'CREATED'"
_PAID_ROWS = "FROM preload_rows WHERE status = 'PAID'"

INSERTS = (
    """INSERT INTO orders.orders (id, merchant_id, amount, currency, status, receipt, notes, created_at, updated_at,
                                  manual_capture)
       SELECT order_id, merchant_id, amount, 'INR', status, receipt, NULL, t0,
              CASE WHEN status = 'CREATED' THEN t0 ELSE t4 END, false FROM preload_rows""",
    f"""INSERT INTO payments.order_payments (order_id, merchant_id, amount, currency, paid_payment_id, created_at)
        SELECT order_id, merchant_id, amount, 'INR', CASE WHEN status = 'PAID' THEN payment_id END, t1
        {_SETTLED_ROWS}""",
    f"""INSERT INTO payments.payments (id, order_id, merchant_id, amount, currency, method, status, gateway_payment_id,
                                       signature, error_code, error_description, settled_by, version, created_at,
                                       updated_at, order_confirmed_at)
        SELECT payment_id, order_id, merchant_id, amount, 'INR', method,
               CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END, gw_id, signature, error_code,
               error_description, 'webhook', 3, t1, t3, CASE WHEN status = 'PAID' THEN t5 END {_SETTLED_ROWS}""",
    """INSERT INTO payments.payment_events (payment_id, kind, source, event_id, detail, created_at)
        SELECT payment_id, e.kind, e.source, e.event_id, e.detail, e.at FROM preload_rows
        CROSS JOIN LATERAL (VALUES
            ('created', 'api', NULL, jsonb_build_object('amount', amount, 'currency', 'INR'), t1),
            ('sent_to_gateway', 'api', NULL, jsonb_build_object('gatewayPaymentId', gw_id), t2),
            ('settled', 'webhook', evt_id,
             jsonb_build_object('to', CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END,
                                'current', 'INITIATED', 'reported',
                                CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END, 'errorCode', error_code),
             t3)) AS e (kind, source, event_id, detail, at)
        WHERE status <> 'CREATED'""",
    f"""INSERT INTO gateway.payments (id, payment_id, order_id, amount, currency, method, signature, status, error_code,
                                      error_description, faults, created_at, updated_at)
        SELECT gw_id, payment_id, order_id, amount, 'INR', method, signature,
               CASE WHEN status = 'PAID' THEN 'captured' ELSE 'failed' END, error_code, error_description, '{{}}',
               t1 + interval '30 ms', t1 + interval '45 ms' {_SETTLED_ROWS}""",
    f"""INSERT INTO gateway.deliveries (event_id, gateway_payment_id, payment_id, reported_status, purpose, body,
                                        not_before, state, attempts, sets_status, copies, fake_timeouts,
                                        follow_delay_ms, correlation_id, created_at, delivered_at, path)
        SELECT evt_id, gw_id, payment_id, CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END, 'settlement',
               -- the mock gateway's compact JSON, as text: no document to build
               convert_to('{{"orderId":"' || order_id || '","paymentId":"' || payment_id || '","gatewayPaymentId":"'
                          || gw_id || '","signature":"' || signature || '","status":"'
                          || CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END || '","amount":' || amount
                          || ',"currency":"INR","method":' || method::text || '}}', 'UTF8'),
               t1 + interval '30 ms', 'delivered', 1, CASE WHEN status = 'PAID' THEN 'captured' ELSE 'failed' END,
               1, 0, 0, correlation, t1 + interval '30 ms', t3 + interval '10 ms', '/webhook/payment'
        {_SETTLED_ROWS}""",
    f"""INSERT INTO gateway.delivery_attempts (event_id, attempt, status_code, error, treated_as_timeout, created_at)
        SELECT evt_id, 1, 200, NULL, false, t3 + interval '5 ms' {_SETTLED_ROWS}""",
    f"""INSERT INTO orders.payment_views (id, order_id, status, amount, currency, gateway_payment_id, signature,
                                         error_code, error_description, version, created_at, updated_at, method,
                                         merchant_id)
        SELECT payment_id, order_id, CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END, amount, 'INR', gw_id,
               signature, error_code, error_description, 3, t1, t3, method, merchant_id {_SETTLED_ROWS}""",
    f"""INSERT INTO payments.outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key, payload,
                                     headers, created_at, available_at, published_at)
        SELECT e.id, 'payment', payment_id, e.type, 'payments.events', e.type,
               jsonb_build_object('type', e.type, 'payment', e.snapshot),
               jsonb_build_object('correlation-id', correlation), e.at, e.at, e.at + interval '40 ms'
          FROM preload_rows CROSS JOIN LATERAL (VALUES
            (ob_init, 'payment.initiated', {_INITIATED}, t2),
            (ob_settle, CASE WHEN status = 'PAID' THEN 'payment.succeeded' ELSE 'payment.failed' END, snapshot, t3)
        ) AS e (id, type, snapshot, at)
         WHERE status <> 'CREATED' AND keep_outbox""",
    f"""INSERT INTO orders.outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key, payload,
                                   created_at, available_at, published_at)
        SELECT ob_mpay, 'order', order_id, 'merchant.event', 'orders.events', 'merchant.' || (mpay->>'event'), mpay,
               t4, t4, t4 + interval '50 ms' {_SETTLED_ROWS} AND keep_outbox
        UNION ALL
        SELECT ob_paid, 'order', order_id, 'order.paid', 'orders.events', 'order.paid',
               jsonb_build_object('type', 'order.paid', 'paidAt', t4, 'orderId', order_id, 'paymentId', payment_id,
                                  'merchantId', merchant_id), t4, t4, t4 + interval '50 ms' {_PAID_ROWS} AND keep_outbox
        UNION ALL
        SELECT ob_mpaid, 'order', order_id, 'merchant.event', 'orders.events', 'merchant.order.paid', mpaid,
               t4, t4, t4 + interval '50 ms' {_PAID_ROWS} AND keep_outbox""",
    """INSERT INTO orders.inbox (consumer, message_id, processed_at)
        SELECT 'order-svc.payment-events', e.id::text, e.at
          FROM preload_rows CROSS JOIN LATERAL (VALUES (ob_init, t2 + interval '50 ms'), (ob_settle, t4)) AS e (id, at)
         WHERE status <> 'CREATED' AND keep_inbox""",
    f"""INSERT INTO payments.inbox (consumer, message_id, processed_at)
        SELECT 'payment-svc.webhooks', evt_id, t3 {_SETTLED_ROWS} AND keep_inbox
        UNION ALL SELECT 'payment-svc.order-events', ob_paid::text, t5 {_PAID_ROWS} AND keep_inbox""",
    f"""INSERT INTO merchant_webhooks.events (id, merchant_id, event, body, created_at)
        SELECT mpay->>'id', merchant_id, mpay->>'event', {_RECEIVED.format(payload="mpay")}, t5 {_SETTLED_ROWS}
        UNION ALL
        SELECT mpaid->>'id', merchant_id, 'order.paid', {_RECEIVED.format(payload="mpaid")}, t5 {_PAID_ROWS}""",
    f"""INSERT INTO merchant_webhooks.inbox (consumer, message_id, processed_at)
        SELECT 'merchant-webhooks.events', ob_mpay::text, t5 {_SETTLED_ROWS} AND keep_inbox
        UNION ALL SELECT 'merchant-webhooks.events', ob_mpaid::text, t5 {_PAID_ROWS} AND keep_inbox""",
)
