-- An email that carries a link keeps its token's hash, so that when it fails
-- for good the token can be erased and its link made unusable, and an
-- operator's retry can give the same link a new token.
ALTER TABLE outbox ADD COLUMN link_hash bytea CHECK (length(link_hash) = 32);
UPDATE outbox SET link_hash = sha256(convert_to(secret, 'UTF8')) WHERE secret IS NOT NULL;
-- A failed email no longer keeps its token in clear; a retry mints a new one.
UPDATE outbox SET secret = NULL WHERE state = 'failed';
