-- Two-factor sign-in: a TOTP authenticator per user, and single-use
-- recovery codes for when the authenticator is lost.

-- One row per user who has confirmed an authenticator. The secret must be
-- kept to check codes (TOTP is symmetric); it is never shown again after
-- enrolment. last_step is the newest 30-second step a code was accepted
-- for, so a code cannot be used twice. failures and blocked_until slow down
-- guessing the way sign-in does, per user, whatever session is guessing.
CREATE TABLE user_totp (
    user_id       bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret        text NOT NULL CHECK (secret ~ '^[A-Z2-7]{16,128}$'),
    enabled_at    timestamptz NOT NULL,
    last_step     bigint NOT NULL DEFAULT 0,
    failures      integer NOT NULL DEFAULT 0,
    blocked_until timestamptz
);

-- Recovery codes are random (120 bits each) and shown once; only their
-- SHA-256 is stored. A used code keeps its row so it cannot be reused.
CREATE TABLE user_recovery_codes (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
