-- Signed webhooks (Standard Webhooks). An endpoint belongs to the user who
-- registered it: with no Smart Account it receives the events of the
-- account requests its owner sent; with one it receives that account's
-- access requests, for as long as its owner administers the account.
CREATE TABLE webhook_endpoints (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    smart_account_id  bigint REFERENCES smart_accounts (id) ON DELETE CASCADE,
    url               text NOT NULL CHECK (length(url) <= 2000),
    event_types       text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 20),
    -- The signing secret ("whsec_" + base64) must be kept whole: the
    -- portal signs with it. During a rotation the previous one signs too,
    -- until previous_secret_until.
    secret                 text NOT NULL,
    previous_secret        text,
    previous_secret_until  timestamptz,
    created_at        timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_owner_idx ON webhook_endpoints (owner_user_id);
CREATE INDEX webhook_endpoints_account_idx ON webhook_endpoints (smart_account_id) WHERE smart_account_id IS NOT NULL;

-- One delivery per (event, endpoint), written in the transaction that
-- records the event, and claimed like the outbox's emails: attempts counts
-- claims and fences the worker's outcome, claimed_by names the worker lock.
-- webhook_id and payload are fixed when the row is written, so every
-- attempt carries the same id and body.
CREATE TABLE webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       text NOT NULL UNIQUE,
    endpoint_id      bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    payload          text NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    -- The attempts the endpoint failed, which space the retries: attempts
    -- also counts claims a killed worker never posted.
    failures         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    -- Retried until then (about a day after the event, or after a
    -- redelivery), then failed.
    give_up_at       timestamptz NOT NULL,
    locked_until     timestamptz,
    claimed_by       integer,
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id DESC);

-- What each attempt got back: the status, or why there was none, and at
-- most 1 KiB of the body.
CREATE TABLE webhook_attempts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id    bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt        integer NOT NULL,
    at             timestamptz NOT NULL,
    status_code    integer NOT NULL DEFAULT 0,
    error          text NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
    response_body  text NOT NULL DEFAULT '' CHECK (octet_length(response_body) <= 1024),
    duration_ms    integer NOT NULL DEFAULT 0
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);
