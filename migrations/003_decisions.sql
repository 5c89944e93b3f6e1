-- Deciding on requests: the links that let the people an approval adds set
-- their first password, and the token a reminder replaced.

-- A single-use link to set a first password, for someone an approval made a
-- member while they had none. Only the token's SHA-256 is stored.
CREATE TABLE set_password_links (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX set_password_links_unused_idx ON set_password_links (user_id) WHERE used_at IS NULL;

-- The approval token is never stored in clear and its email's copy is erased
-- once sent, so a reminder can only send a new token. The one it replaced is
-- kept, hashed, so its link can say it was replaced rather than "unknown".
ALTER TABLE approval_links
    ADD COLUMN previous_token_hash bytea UNIQUE CHECK (length(previous_token_hash) = 32),
    ADD COLUMN rotated_at          timestamptz;
