-- One payment lifecycle's SQL, as the services issue it (captured with log_statement = 'all' for one
-- lifecycle, UPI success, no duplicate, a merchant without webhook endpoints; `python -m
-- benchmarks.statements` counts the same per service), for pgbench: the database bound of `make bench`.
-- Run as one script per lifecycle (pgbench -M prepared -f benchmarks/lifecycle.pgbench.sql), so its
-- transactions per second are lifecycles per second. Names are schema-qualified (the services set
-- search_path instead); the services' parameters are literals or pgbench variables. Left out: the
-- delivery worker's and outbox relays' idle polls, asyncpg's type introspection.
-- tests/unit/test_bench_pgbench_sql.py checks every table and column here against the services' SQL
-- and migrations. Statements marked "-- bench only" are the script's own (fresh ids).

-- bench only: fresh ids for this lifecycle
SELECT 'order_pgb_' || md5(random()::text) AS oid, 'pay_pgb_' || md5(random()::text) AS pid,
       'gw_pgb_' || md5(random()::text) AS gid, 'evt_pgb_' || md5(random()::text) AS eid,
       gen_random_uuid() AS ob1, gen_random_uuid() AS ob2, gen_random_uuid() AS ob3,
       gen_random_uuid() AS ob4, gen_random_uuid() AS ob5 \gset

-- order-svc, POST /orders: one statement, no transaction around it
INSERT INTO orders.orders (id, merchant_id, amount, currency, receipt, notes, customer_email, customer_name,
                           request_id)
VALUES (:oid, 'rzp_test_pgbench', 1500, 'INR', NULL, '{}', NULL, NULL, NULL)
ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO NOTHING
RETURNING id, merchant_id, amount, currency, status, receipt, notes, created_at, updated_at, customer_email,
          customer_name;

-- order-svc, POST /payments/initiate: the order
SELECT id, merchant_id, amount, currency, status, receipt, notes, created_at, updated_at, customer_email, customer_name
  FROM orders.orders WHERE id = :oid AND merchant_id = 'rzp_test_pgbench';

-- payment-svc: the attempt (the order's row created or locked, the attempt and its trail), one statement
WITH o AS (
  INSERT INTO payments.order_payments (order_id, merchant_id, amount, currency)
  VALUES (:oid, 'rzp_test_pgbench', 1500, 'INR')
  ON CONFLICT (order_id) DO UPDATE SET order_id = EXCLUDED.order_id
  RETURNING order_id, merchant_id, amount, currency, paid_payment_id),
     changed AS (
  INSERT INTO payments.payments (id, order_id, merchant_id, amount, currency, method, status, request_id,
                                 manual_capture)
  SELECT :pid, order_id, merchant_id, amount, currency, '{"type": "upi", "vpa": "success@razorpay"}', 'INITIATED',
         NULL, false FROM o
   WHERE merchant_id = 'rzp_test_pgbench' AND paid_payment_id IS NULL
  RETURNING id, order_id, merchant_id, amount, currency, method, status, gateway_payment_id, signature, error_code,
            error_description, settled_by, version, created_at, updated_at, manual_capture),
     trail AS (INSERT INTO payments.payment_events (payment_id, kind, source, event_id, detail)
               SELECT id, 'created', 'api', NULL, '{"amount": 1500, "currency": "INR"}'::jsonb FROM changed)
SELECT to_jsonb(o) AS order_row, changed.* FROM o LEFT JOIN changed ON true;

-- mock gateway: the payment and its planned webhook, one statement
WITH created AS (
  INSERT INTO gateway.payments (id, payment_id, order_id, amount, currency, method, signature, status, faults)
  VALUES (:gid, :pid, :oid, 1500, 'INR', '{"type": "upi", "vpa": "success@razorpay"}', md5(:gid) || md5(:oid),
          'created', '{}'::text[])
  ON CONFLICT (payment_id) DO NOTHING
  RETURNING id, payment_id, order_id, amount, currency, method, signature, status, error_code, error_description,
            faults, created_at, updated_at),
     planned AS (
  INSERT INTO gateway.deliveries (event_id, gateway_payment_id, payment_id, reported_status, purpose, body,
                                  not_before, sets_status, copies, fake_timeouts, after_event_id, follow_delay_ms,
                                  correlation_id)
  SELECT d.event_id, created.id, created.payment_id, d.reported_status, d.purpose, d.body,
         now() + make_interval(secs => d.after_seconds), d.sets_status, d.copies, d.fake_timeouts,
         d.after_event_id, d.follow_delay_ms, NULL
    FROM created,
         unnest(ARRAY[:eid]::text[], '{SUCCESS}'::text[], '{settlement}'::text[],
                ARRAY[convert_to(rpad('{"orderId": "', 350, 'x'), 'UTF8')], '{0}'::float8[], '{captured}'::text[],
                '{1}'::int[], '{0}'::int[], '{NULL}'::text[], '{0}'::int[])
         AS d (event_id, reported_status, purpose, body, after_seconds, sets_status, copies, fake_timeouts,
               after_event_id, follow_delay_ms))
SELECT * FROM created;

-- payment-svc: the gateway's answer, and its event
BEGIN;
WITH changed AS (
  UPDATE payments.payments
     SET gateway_payment_id = :gid, signature = md5(:gid), version = version + 1, updated_at = now()
   WHERE id = :pid AND status = 'INITIATED' AND gateway_payment_id IS NULL
  RETURNING id, order_id, merchant_id, amount, currency, method, status, gateway_payment_id, signature, error_code,
            error_description, settled_by, version, created_at, updated_at),
     trail AS (INSERT INTO payments.payment_events (payment_id, kind, source, event_id, detail)
               SELECT id, 'sent_to_gateway', 'api', NULL, '{}'::jsonb FROM changed)
SELECT * FROM changed;
WITH written AS (
  INSERT INTO payments.outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key, payload,
                              headers)
  VALUES (:ob1, 'payment', :pid, 'payment.initiated', 'payments.events', 'payment.initiated',
          jsonb_build_object('paymentId', :pid::text, 'orderId', :oid::text, 'status', 'INITIATED', 'amount', 1500,
                             'pad', repeat('x', 450)),
          '{}'))
SELECT pg_notify('outbox_payments', '');
COMMIT;

-- mock gateway: the delivery worker claims the due webhook (and learns when the next falls due), then makes
-- its status true: two lone statements
WITH due AS (
  SELECT event_id, gateway_payment_id, payment_id, body, copies, correlation_id, sets_status, path, refund_id,
         not_before, extract(epoch FROM created_at + make_interval(secs => 900) - now())::float8 AS window_left
    FROM gateway.deliveries d
   WHERE state = 'pending' AND not_before <= now() AND NOT (event_id = ANY('{}'::text[]))
     AND (after_event_id IS NULL
          OR NOT EXISTS (SELECT 1 FROM gateway.deliveries p WHERE p.event_id = d.after_event_id AND p.state = 'pending'))
   ORDER BY not_before, event_id
   LIMIT 64
     FOR UPDATE SKIP LOCKED),
     next AS (
  SELECT extract(epoch FROM min(not_before) - now())::float8 AS next_due
    FROM gateway.deliveries WHERE state = 'pending' AND not_before > now())
SELECT due.*, next.next_due FROM next LEFT JOIN due ON true ORDER BY due.not_before, due.event_id;
UPDATE gateway.payments p
   SET status = s.status,
       error_code = CASE WHEN s.status = 'failed' THEN s.error_code END,
       error_description = CASE WHEN s.status = 'failed' THEN s.error_description END,
       updated_at = now()
  FROM unnest(ARRAY[:gid]::text[], '{captured}'::text[], '{NULL}'::text[], '{NULL}'::text[])
       AS s (id, status, error_code, error_description)
 WHERE p.id = s.id
   AND array_position('{created,failed,captured}'::text[], s.status)
       > array_position('{created,failed,captured}'::text[], p.status);

-- order-svc: the initiate answer's view of the attempt
BEGIN;
SELECT id, merchant_id, amount, currency, status, receipt, notes, created_at, updated_at, customer_email, customer_name
  FROM orders.orders WHERE id = :oid FOR UPDATE;
WITH before AS (SELECT status FROM orders.payment_views WHERE id = :pid)
INSERT INTO orders.payment_views (id, order_id, status, amount, currency, gateway_payment_id, signature, error_code,
                                  error_description, version, created_at, updated_at, method)
VALUES (:pid, :oid, 'INITIATED', 1500, 'INR', :gid, md5(:gid), NULL, NULL, 2, now(), now(),
        '{"type": "upi", "vpa": "success@razorpay"}')
ON CONFLICT (id) DO UPDATE
   SET status = EXCLUDED.status, gateway_payment_id = EXCLUDED.gateway_payment_id, signature = EXCLUDED.signature,
       error_code = EXCLUDED.error_code, error_description = EXCLUDED.error_description, version = EXCLUDED.version,
       updated_at = EXCLUDED.updated_at, method = EXCLUDED.method
 WHERE payment_views.version < EXCLUDED.version
RETURNING (SELECT status FROM before);
COMMIT;

-- payment-svc's outbox relay: payment.initiated
BEGIN;
UPDATE payments.outbox SET published_at = now()
 WHERE id IN (SELECT id FROM payments.outbox WHERE published_at IS NULL AND available_at <= now()
               ORDER BY available_at, created_at LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING id, aggregate_id, event_type, exchange, routing_key, payload, headers, attempts, available_at, created_at,
          extract(epoch FROM clock_timestamp() - created_at)::float8 AS lag;
COMMIT;

-- order-svc's consumer: payment.initiated, already in the view (the initiate answer wrote it): claimed only
SELECT true FROM orders.payment_views WHERE id = :pid AND version >= 2;
INSERT INTO orders.inbox (consumer, message_id) VALUES ('order-svc.payment-events', :ob1) ON CONFLICT DO NOTHING RETURNING 1;

-- mock gateway: the webhook's try, answered 200, and its end
WITH bumped AS (
    UPDATE gateway.deliveries SET attempts = attempts + 1 WHERE event_id = :eid RETURNING attempts, fake_timeouts)
INSERT INTO gateway.delivery_attempts (event_id, attempt, status_code, error, treated_as_timeout)
SELECT :eid, attempts, 200, NULL, 200 IS NOT NULL AND attempts <= fake_timeouts FROM bumped
RETURNING treated_as_timeout;
BEGIN;
UPDATE gateway.deliveries SET state = 'delivered', delivered_at = now()
 WHERE event_id = :eid AND state = 'pending' RETURNING true;
UPDATE gateway.deliveries SET not_before = greatest(not_before, now() + make_interval(secs => follow_delay_ms / 1000.0))
 WHERE after_event_id = :eid AND state = 'pending';
COMMIT;

-- payment-svc's webhook consumer: the settlement
BEGIN;
INSERT INTO payments.inbox (consumer, message_id) VALUES ('payment-svc.webhooks', :eid) ON CONFLICT DO NOTHING RETURNING 1;
SELECT order_id, merchant_id, amount, currency, paid_payment_id FROM payments.order_payments WHERE order_id = :oid FOR UPDATE;
SELECT id, order_id, merchant_id, amount, currency, method, status, gateway_payment_id, signature, error_code,
       error_description, settled_by, version, created_at, updated_at
  FROM payments.payments WHERE id = :pid FOR UPDATE;
WITH changed AS (
  UPDATE payments.payments
     SET status = 'SUCCESS', error_code = NULL, error_description = NULL, settled_by = 'webhook', version = version + 1,
         updated_at = now()
   WHERE id = :pid AND status = 'INITIATED'
  RETURNING id, order_id, merchant_id, amount, currency, method, status, gateway_payment_id, signature, error_code,
            error_description, settled_by, version, created_at, updated_at),
     trail AS (INSERT INTO payments.payment_events (payment_id, kind, source, event_id, detail)
               SELECT id, 'settled', 'webhook', :eid, '{"status": "SUCCESS"}'::jsonb FROM changed),
     paid AS (UPDATE payments.order_payments o SET paid_payment_id = changed.id FROM changed
               WHERE o.order_id = changed.order_id AND o.paid_payment_id IS NULL AND changed.status = 'SUCCESS')
SELECT * FROM changed;
WITH written AS (
  INSERT INTO payments.outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key, payload,
                              headers)
  VALUES (:ob2, 'payment', :pid, 'payment.succeeded', 'payments.events', 'payment.succeeded',
          jsonb_build_object('paymentId', :pid::text, 'orderId', :oid::text, 'status', 'SUCCESS', 'amount', 1500,
                             'pad', repeat('x', 450)),
          '{}'))
SELECT pg_notify('outbox_payments', '');
COMMIT;

-- payment-svc's outbox relay: payment.succeeded
BEGIN;
UPDATE payments.outbox SET published_at = now()
 WHERE id IN (SELECT id FROM payments.outbox WHERE published_at IS NULL AND available_at <= now()
               ORDER BY available_at, created_at LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING id, aggregate_id, event_type, exchange, routing_key, payload, headers, attempts, available_at, created_at,
          extract(epoch FROM clock_timestamp() - created_at)::float8 AS lag;
COMMIT;

-- order-svc's consumer: payment.succeeded, the order PAID
BEGIN;
INSERT INTO orders.inbox (consumer, message_id) VALUES ('order-svc.payment-events', :ob2) ON CONFLICT DO NOTHING RETURNING 1;
SELECT id, merchant_id, amount, currency, status, receipt, notes, created_at, updated_at, customer_email, customer_name
  FROM orders.orders WHERE id = :oid FOR UPDATE;
WITH before AS (SELECT status FROM orders.payment_views WHERE id = :pid)
INSERT INTO orders.payment_views (id, order_id, status, amount, currency, gateway_payment_id, signature, error_code,
                                  error_description, version, created_at, updated_at, method)
VALUES (:pid, :oid, 'SUCCESS', 1500, 'INR', :gid, md5(:gid), NULL, NULL, 3, now(), now(),
        '{"type": "upi", "vpa": "success@razorpay"}')
ON CONFLICT (id) DO UPDATE
   SET status = EXCLUDED.status, gateway_payment_id = EXCLUDED.gateway_payment_id, signature = EXCLUDED.signature,
       error_code = EXCLUDED.error_code, error_description = EXCLUDED.error_description, version = EXCLUDED.version,
       updated_at = EXCLUDED.updated_at, method = EXCLUDED.method
 WHERE payment_views.version < EXCLUDED.version
RETURNING (SELECT status FROM before);
-- the merchant events payment.captured and order.paid: the attempt as /v1 shows it, its order's attempts, in
-- one read (its refunds only when there are some: none here)
SELECT v.id, v.order_id, v.status, v.amount, v.currency, v.gateway_payment_id, v.signature, v.error_code,
       v.error_description, v.version, v.created_at, v.updated_at, v.method,
       d.payment_id IS NOT NULL AS has_details, d.email, d.contact, d.notes,
       EXISTS (SELECT 1 FROM orders.refund_views r WHERE r.payment_id = v.id) AS has_refunds,
       (SELECT count(*) FROM orders.payment_views a WHERE a.order_id = v.order_id) AS attempts
  FROM orders.payment_views v
  LEFT JOIN orders.payment_details d ON d.payment_id = v.id
 WHERE v.id = :pid;
UPDATE orders.orders SET status = 'PAID', updated_at = now() WHERE id = :oid AND status <> 'PAID';
-- the order's payment link, if any
UPDATE orders.payment_links SET status = 'paid', paid_payment_id = :pid, cancelled_at = NULL, updated_at = now()
 WHERE order_id = :oid AND status <> 'paid' RETURNING id;
WITH written AS (
  INSERT INTO orders.outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key, payload,
                              headers)
  VALUES (:ob3, 'order', :oid, 'order.paid', 'orders.events', 'order.paid',
          jsonb_build_object('orderId', :oid::text, 'paymentId', :pid::text, 'status', 'PAID', 'pad', repeat('x', 450)), '{}'),
         (:ob4, 'order', :oid, 'merchant.event', 'merchant.events', 'payment.captured',
          jsonb_build_object('event', 'payment.captured', 'pad', repeat('x', 1200)), '{}'),
         (:ob5, 'order', :oid, 'merchant.event', 'merchant.events', 'order.paid',
          jsonb_build_object('event', 'order.paid', 'pad', repeat('x', 1800)), '{}'))
SELECT pg_notify('outbox_orders', '');
COMMIT;

-- order-svc's outbox relay: order.paid
BEGIN;
UPDATE orders.outbox SET published_at = now()
 WHERE id IN (SELECT id FROM orders.outbox WHERE published_at IS NULL AND available_at <= now()
               ORDER BY available_at, created_at LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING id, aggregate_id, event_type, exchange, routing_key, payload, headers, attempts, available_at, created_at,
          extract(epoch FROM clock_timestamp() - created_at)::float8 AS lag;
COMMIT;

-- merchant-webhooks: each merchant event, for a merchant without endpoints, dropped after one read
SELECT id FROM merchant_webhooks.endpoints
 WHERE merchant_id = 'rzp_test_pgbench' AND status = 'enabled' AND events && ARRAY['payment.captured', '*']::text[]
 ORDER BY id;
SELECT id FROM merchant_webhooks.endpoints
 WHERE merchant_id = 'rzp_test_pgbench' AND status = 'enabled' AND events && ARRAY['order.paid', '*']::text[]
 ORDER BY id;

-- payment-svc's consumer: order.paid confirmed, one idempotent statement
UPDATE payments.payments SET order_confirmed_at = coalesce(order_confirmed_at, now())
 WHERE id = :pid AND status = 'SUCCESS' RETURNING status;
