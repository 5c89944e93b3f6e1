-- Requests for a customer's Smart Account, their approval links, and the
-- outbox every email goes through.

CREATE TABLE account_requests (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    smart_account_id  bigint NOT NULL UNIQUE REFERENCES smart_accounts (id) ON DELETE CASCADE,
    requested_by      bigint NOT NULL REFERENCES users (id),
    partner_name      text NOT NULL DEFAULT '',
    domain_as_typed   text NOT NULL,
    note_to_approver  text NOT NULL DEFAULT '',
    customer_emails   text[] NOT NULL CHECK (cardinality(customer_emails) > 0),
    note_to_customer  text NOT NULL DEFAULT '',
    user_emails       text[] NOT NULL DEFAULT '{}',
    note_to_users     text NOT NULL DEFAULT '',
    -- The review form's one-time key: the same submission twice makes one request.
    submission_key    text NOT NULL UNIQUE,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'withdrawn')),
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    reminded_at       timestamptz,
    decided_at        timestamptz,
    decided_by        text NOT NULL DEFAULT '',
    decided_by_user   bigint REFERENCES users (id),
    decision_reason   text NOT NULL DEFAULT ''
);
CREATE INDEX account_requests_pending_idx ON account_requests (expires_at) WHERE status = 'pending';
CREATE INDEX account_requests_requested_by_idx ON account_requests (requested_by);

-- One link per approver address. Only the token's SHA-256 is stored.
CREATE TABLE approval_links (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id   bigint NOT NULL REFERENCES account_requests (id) ON DELETE CASCADE,
    email        text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    forwarded_to text NOT NULL DEFAULT '',
    UNIQUE (request_id, email)
);

-- Every email is a row written by the transaction that causes it; a worker
-- delivers it. secret holds what must not outlive delivery (an approval
-- link) and is cleared once sent.
CREATE TABLE outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id       text NOT NULL UNIQUE,
    kind             text NOT NULL,
    to_address       text NOT NULL,
    language         text NOT NULL DEFAULT '',
    data             jsonb NOT NULL,
    secret           text,
    smart_account_id bigint REFERENCES smart_accounts (id) ON DELETE SET NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    locked_until     timestamptz,
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_recent_idx ON outbox (created_at DESC);
