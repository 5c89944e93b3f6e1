-- Each session names its signed-in user in a column of its own, written by
-- the portal's session store beside the encoded data, so that the one
-- statement that finds a session also reads its user's frame (name, menu,
-- Account Management's counts): one round trip per page instead of three.
-- A removed user's sessions go with them.
ALTER TABLE sessions ADD COLUMN user_id bigint REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE user_id IS NOT NULL;
