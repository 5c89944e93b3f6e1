-- An API client that retries a create with the same Idempotency-Key gets
-- the request its first call made, but only if it sends the same body: the
-- same key with another body (other approvers, say) is a mistake to report,
-- not a retry to answer with a request the client did not ask for. The
-- fingerprint is the SHA-256 of the decoded input, all of it; NULL for a
-- request sent through the form, and for requests older than this column.

ALTER TABLE account_requests ADD COLUMN input_hash bytea;
