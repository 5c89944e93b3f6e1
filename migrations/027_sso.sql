-- Single sign-on through the company's OpenID provider.

-- Email domains whose users must sign in through the provider: a password
-- sign-in there is refused. A domain covers the domains under it.
CREATE TABLE sso_domains (
    domain      text PRIMARY KEY CHECK (domain = lower(domain) AND length(domain) BETWEEN 1 AND 253),
    required_by bigint REFERENCES users (id) ON DELETE SET NULL,
    required_at timestamptz NOT NULL
);

-- The sign-in history operators read: sign-ins through the provider, the
-- users it brought, its refusals, and changes to sso_domains.
CREATE TABLE sign_in_events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    email   text NOT NULL DEFAULT '',
    kind    text NOT NULL,
    detail  text NOT NULL DEFAULT ''
);
CREATE INDEX sign_in_events_at_idx ON sign_in_events (at DESC, id DESC);
