-- The API's rate limit counts a user's calls, whichever of their tokens made
-- them: counted per token, making another token reset the limit. A window
-- lasts a minute, so nothing is carried over from api_rate_windows, which
-- processes started before this migration keep writing until they are
-- replaced; a later migration drops it.
CREATE TABLE api_user_rate_windows (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL,
    PRIMARY KEY (user_id, window_start)
);

-- Token creation is limited per user per day: counted by this index.
CREATE INDEX api_tokens_user_created_idx ON api_tokens (user_id, created_at);
