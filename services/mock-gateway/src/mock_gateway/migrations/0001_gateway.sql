-- The gateway's own truth, kept apart from the merchant's: what each payment really is, and every
-- webhook it planned, sent and had answered. The chaos checks compare these with the merchant's side,
-- so they survive a kill -9 of the gateway.

CREATE TABLE payments (
    id                text PRIMARY KEY,
    payment_id        text        NOT NULL UNIQUE,
    order_id          text        NOT NULL,
    amount            bigint      NOT NULL,
    currency          text        NOT NULL,
    method            jsonb,
    signature         text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('created', 'captured', 'failed')),
    error_code        text,
    error_description text,
    -- the faults that shaped this payment's webhooks (per-payment test values and the per-run draw)
    faults            text[]      NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- one row per planned webhook event; a retry or a concurrent copy of the event reuses its row
CREATE TABLE deliveries (
    event_id           text PRIMARY KEY,
    gateway_payment_id text        NOT NULL REFERENCES payments (id),
    payment_id         text        NOT NULL,
    reported_status    text        NOT NULL CHECK (reported_status IN ('SUCCESS', 'FAILED')),
    purpose            text        NOT NULL CHECK (purpose IN ('settlement', 'duplicate', 'late_success')),
    -- the exact JSON sent: every try and copy carries the same bytes
    body               bytea       NOT NULL,
    not_before         timestamptz NOT NULL,
    state              text        NOT NULL DEFAULT 'pending'
                                   CHECK (state IN ('pending', 'delivered', 'refused', 'gave_up')),
    attempts           integer     NOT NULL DEFAULT 0,
    -- the gateway status this event makes true once it is due; applied when the worker claims it
    sets_status        text        CHECK (sets_status IN ('captured', 'failed')),
    -- how many copies go out at once under this event id (2 for the duplicate fault)
    copies             integer     NOT NULL DEFAULT 1 CHECK (copies >= 1),
    -- how many leading tries are treated as timed out whatever the receiver answered (timeout fault)
    fake_timeouts      integer     NOT NULL DEFAULT 0 CHECK (fake_timeouts >= 0),
    -- held while that event is pending, then `follow_delay_ms` more (a late success follows its failure)
    after_event_id     text REFERENCES deliveries (event_id),
    follow_delay_ms    integer     NOT NULL DEFAULT 0 CHECK (follow_delay_ms >= 0),
    correlation_id     text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    delivered_at       timestamptz
);
CREATE INDEX deliveries_due ON deliveries (not_before) WHERE state = 'pending';
CREATE INDEX deliveries_by_payment ON deliveries (gateway_payment_id);
CREATE INDEX deliveries_by_predecessor ON deliveries (after_event_id) WHERE after_event_id IS NOT NULL;

-- every HTTP try with the receiver's real answer; `status_code` stays what the receiver said even
-- when `treated_as_timeout` made the gateway act as if no answer came; a try that got no answer at
-- all has a NULL status_code and the error's name
CREATE TABLE delivery_attempts (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id           text        NOT NULL REFERENCES deliveries (event_id),
    attempt            integer     NOT NULL,
    status_code        integer,
    error              text,
    treated_as_timeout boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_attempts_by_event ON delivery_attempts (event_id, attempt);
