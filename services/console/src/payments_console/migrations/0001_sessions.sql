-- The console's own schema: operator sessions, the failed-login buckets, and what operators did.

-- one row per signed-in browser; `id` is the SHA-256 of the cookie's token, so a copy of this table
-- opens no session
CREATE TABLE sessions (
    id           text PRIMARY KEY,
    operator     text        NOT NULL,
    csrf_token   text        NOT NULL,
    address      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- failed logins per operator name and client address: a token bucket, `tokens` as of `updated_at`
CREATE TABLE login_throttle (
    name       text             NOT NULL,
    address    text             NOT NULL,
    tokens     double precision NOT NULL,
    updated_at timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (name, address)
);

-- every state-changing action an operator took through the console, and what it answered
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator   text        NOT NULL,
    action     text        NOT NULL,
    target     text        NOT NULL,
    outcome    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_by_time ON audit_log (created_at);
