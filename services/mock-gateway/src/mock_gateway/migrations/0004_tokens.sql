-- Tokens: a payment the gateway captured can be charged again, server to server, by its token (`token_` and
-- the payment's own id without `gw_`), as a saved card or a UPI mandate is. A token's switch, flipped by a
-- test through `PUT /v1/test/tokens/{token}`, makes its charges decline until it is flipped back.
CREATE TABLE token_switches (
    token      text PRIMARY KEY CHECK (char_length(token) BETWEEN 7 AND 100),
    declines   boolean     NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
