-- Plans, subscriptions, one invoice per billing cycle, and the test clocks that move a subscription's time.
--
-- Each cycle's invoice is unique per (subscription_id, cycle): whatever runs the scheduler, however often,
-- a cycle gets one invoice and one order; its charges are sent to payment-svc with a request id fixed by
-- (invoice, attempt), so a charge resent after a crash is answered with the attempt it already made.
CREATE TABLE test_clocks (
    id          text PRIMARY KEY,
    merchant_id text        NOT NULL,
    name        text        CHECK (char_length(name) <= 200),
    frozen_time timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX test_clocks_by_merchant ON test_clocks (merchant_id, created_at);

CREATE TABLE plans (
    id          text PRIMARY KEY,
    merchant_id text        NOT NULL,
    period      text        NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly', 'yearly')),
    interval    integer     NOT NULL CHECK (interval BETWEEN 1 AND 365),
    item_name   text        NOT NULL CHECK (char_length(item_name) BETWEEN 1 AND 200),
    item_description text   CHECK (char_length(item_description) <= 2000),
    amount      bigint      NOT NULL CHECK (amount > 0 AND amount <= 10000000000),
    currency    text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    notes       json,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plans_by_merchant ON plans (merchant_id, created_at);

CREATE TABLE subscriptions (
    id             text PRIMARY KEY,
    merchant_id    text        NOT NULL,
    plan_id        text        NOT NULL REFERENCES plans (id),
    status         text        NOT NULL CHECK (status IN ('created', 'authenticated', 'active', 'pending', 'halted',
                                                          'cancelled', 'paused', 'completed', 'expired')),
    total_count    integer     NOT NULL CHECK (total_count BETWEEN 1 AND 1200),
    quantity       integer     NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    start_at       timestamptz NOT NULL,
    expire_by      timestamptz,
    notes          json,
    test_clock_id  text REFERENCES test_clocks (id),
    -- after an outage: charge every missed cycle (true) or only the latest one due (false)
    catch_up       boolean     NOT NULL DEFAULT true,
    -- the reusable token of the first payment, which every later cycle is charged with
    token          text,
    -- the next cycle to invoice, and when it starts
    next_cycle     integer     NOT NULL DEFAULT 2,
    next_charge_at timestamptz NOT NULL,
    paid_count     integer     NOT NULL DEFAULT 0,
    cancel_at_cycle_end boolean NOT NULL DEFAULT false,
    ended_at       timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_by_merchant ON subscriptions (merchant_id, created_at);
CREATE INDEX subscriptions_due ON subscriptions (next_charge_at) WHERE status = 'active';

CREATE TABLE subscription_invoices (
    id              text PRIMARY KEY,
    subscription_id text        NOT NULL REFERENCES subscriptions (id),
    cycle           integer     NOT NULL CHECK (cycle >= 1),
    order_id        text        NOT NULL REFERENCES orders (id),
    billing_start   timestamptz NOT NULL,
    billing_end     timestamptz NOT NULL,
    -- due: a charge is to be sent at next_attempt_at; charging: sent, its attempt not settled yet;
    -- paid; unpaid: its retries ran out (the subscription halted) or the subscription ended first
    status          text        NOT NULL CHECK (status IN ('due', 'charging', 'paid', 'unpaid')),
    -- charges sent so far; the attempt being waited for is payment_id
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    payment_id      text,
    paid_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subscription_id, cycle)
);
CREATE INDEX subscription_invoices_open ON subscription_invoices (status, next_attempt_at)
    WHERE status IN ('due', 'charging');
