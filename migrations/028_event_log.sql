-- The Event Log: every change the portal makes, including a user's own
-- (sign-ins, two-factor, API tokens), which belong to no account; where the
-- change came from, for staff; and the indexes that keep each view's
-- newest-first keyset page an index range scan at millions of events.
ALTER TABLE events ALTER COLUMN smart_account_id DROP NOT NULL;
ALTER TABLE events ADD COLUMN client_addr text NOT NULL DEFAULT '';

-- Per account: events_account_idx (smart_account_id, at, id), read backwards.
-- Across all accounts, for operators, with or without a kind or an actor.
CREATE INDEX events_at_idx ON events (at, id);
CREATE INDEX events_kind_idx ON events (kind, at, id);
CREATE INDEX events_actor_idx ON events (actor, at, id);

-- A user's own events (a sign-in, say) name them; the log outlives the
-- user, keeping the address they had in actor.
ALTER TABLE events DROP CONSTRAINT events_actor_user_id_fkey,
    ADD CONSTRAINT events_actor_user_id_fkey FOREIGN KEY (actor_user_id) REFERENCES users (id) ON DELETE SET NULL;
