-- Users, Smart and Virtual Accounts, roles, history, sessions and sign-in throttling.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    name          text NOT NULL,
    password_hash text NOT NULL DEFAULT '',
    is_staff      boolean NOT NULL DEFAULT false,
    language      text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE smart_accounts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    domain       text NOT NULL CHECK (domain = lower(domain)),
    account_type text NOT NULL CHECK (account_type IN ('customer', 'partner_holding', 'limited_use')),
    restricted   boolean NOT NULL DEFAULT false,
    status       text NOT NULL CHECK (status IN ('pending', 'active', 'denied', 'expired')),
    created_by   bigint REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- One Smart Account per domain among those that are live; denied and expired
-- ones give their domain back.
CREATE UNIQUE INDEX smart_accounts_live_domain_key ON smart_accounts (domain)
    WHERE status IN ('pending', 'active');

CREATE TABLE virtual_accounts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    smart_account_id bigint NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    name             text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (smart_account_id, name)
);

-- A role on a Smart Account (virtual_account_id NULL) or on one of its
-- Virtual Accounts; one role per user and scope.
CREATE TABLE memberships (
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    smart_account_id   bigint NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    virtual_account_id bigint REFERENCES virtual_accounts (id) ON DELETE CASCADE,
    role               text NOT NULL CHECK (role IN ('admin', 'user', 'viewer', 'approver')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'approver' OR virtual_account_id IS NULL),
    UNIQUE NULLS NOT DISTINCT (user_id, smart_account_id, virtual_account_id)
);
CREATE INDEX memberships_account_idx ON memberships (smart_account_id);

CREATE TABLE events (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    smart_account_id bigint NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    at               timestamptz NOT NULL,
    actor_user_id    bigint REFERENCES users (id),
    actor            text NOT NULL DEFAULT '',
    kind             text NOT NULL,
    detail           text NOT NULL DEFAULT ''
);
CREATE INDEX events_account_idx ON events (smart_account_id, at, id);

-- scs's pgxstore table.
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

CREATE TABLE login_throttle (
    key           text PRIMARY KEY,
    failures      integer NOT NULL,
    last_failure  timestamptz NOT NULL,
    blocked_until timestamptz NOT NULL
);
