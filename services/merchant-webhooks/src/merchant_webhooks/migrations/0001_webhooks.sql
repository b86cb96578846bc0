-- Webhook endpoints, the events received for merchants, and one delivery per (event, endpoint) with its attempts.

CREATE TABLE endpoints (
    id                         text PRIMARY KEY,
    merchant_id                text        NOT NULL,
    url                        text        NOT NULL,
    events                     text[]      NOT NULL,
    description                text,
    status                     text        NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    disabled_reason            text,
    -- kept in the clear: every delivery is signed with it (a hash could not sign)
    secret                     text        NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    -- the first failed attempt since the last successful one (NULL: not failing)
    failing_since              timestamptz,
    last_error                 text,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX endpoints_of_merchant ON endpoints (merchant_id, created_at);

CREATE TABLE events (
    id          text PRIMARY KEY,
    merchant_id text        NOT NULL,
    event       text        NOT NULL,
    -- the exact bytes every attempt sends and signs
    body        bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deliveries (
    id                text PRIMARY KEY,
    merchant_id       text        NOT NULL,
    endpoint_id       text        NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    event_id          text        NOT NULL REFERENCES events (id),
    event             text        NOT NULL,
    status            text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    -- a series of attempts begins at the first and at each redelivery; retries stop a retry period after it
    series_started_at timestamptz NOT NULL DEFAULT now(),
    failures          integer     NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz,
    -- while an attempt is in flight: the claim's token, and when the claim lapses if its worker died
    claim             uuid,
    claimed_until     timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, endpoint_id)
);

-- the worker's scan: only what is still to send
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, endpoint_id) WHERE status = 'pending';
CREATE INDEX deliveries_of_endpoint ON deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX deliveries_of_merchant ON deliveries (merchant_id, created_at DESC, id DESC);
CREATE INDEX deliveries_by_status ON deliveries (status, created_at DESC, id DESC);

CREATE TABLE attempts (
    delivery_id   text        NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n             integer     NOT NULL,
    at            timestamptz NOT NULL,
    status_code   integer,
    latency_ms    integer,
    error         text,
    -- the start of the receiver's answer, capped
    response_body text,
    PRIMARY KEY (delivery_id, n)
);
