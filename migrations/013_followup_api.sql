-- The partner follows a request up (each approver's email, resends, changed
-- approvers), and personal API tokens for partners who script requests.

-- An approver's latest email is looked up by account and address.
CREATE INDEX outbox_account_to_idx ON outbox (smart_account_id, to_address, id) WHERE smart_account_id IS NOT NULL;

-- A personal API token: only its SHA-256 is stored; it carries its user's
-- rights, and a revoked one is kept so its page can say when.
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, id);

-- Calls per token per fixed window, counted in the database so the limit
-- holds across every process serving the API.
CREATE TABLE api_rate_windows (
    token_id     bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL,
    PRIMARY KEY (token_id, window_start)
);
