-- The conversation on an access request (issue 23): each message is an
-- event of the account's history (kind access_message) naming its request
-- in its parameters. This index finds one request's messages, to show them
-- and to count them under the request's lock, without reading the
-- account's whole history.
CREATE INDEX events_access_messages_idx ON events (((params->>'access_request')::bigint), at, id)
    WHERE kind = 'access_message';
