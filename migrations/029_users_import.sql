-- "Add users from CSV" (issue 23): the preview an administrator saw is kept
-- here, so that Apply applies exactly what was shown, never a re-upload nor
-- a list the browser could edit. A preview belongs to one user and one
-- Smart Account, expires, and is applied at most once.
CREATE TABLE user_imports (
    id               text PRIMARY KEY,
    smart_account_id bigint NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name        text NOT NULL CHECK (length(file_name) <= 255),
    -- Each row of the file with the outcome the preview showed for it.
    lines            jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    applied_at       timestamptz
);
CREATE INDEX user_imports_expires_idx ON user_imports (expires_at);
