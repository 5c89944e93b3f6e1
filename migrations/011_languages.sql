-- Five languages: the language the partner chose for the customer's emails,
-- the language each queued email renders in, and a history that stores what
-- happened as an event code with parameters, so each viewer reads it in
-- their own language, instead of English sentences.

-- Requests made before the choice existed emailed their customers in
-- English, as the language nobody chose.
ALTER TABLE account_requests ADD COLUMN customer_language text NOT NULL DEFAULT 'en';

-- An email queued for someone without a saved language rendered in English;
-- the row now says so rather than leaving the language blank.
UPDATE outbox SET language = 'en' WHERE language = '';

ALTER TABLE events ADD COLUMN params jsonb NOT NULL DEFAULT '{}';

-- The old English details, read back into parameters kind by kind, in the
-- exact shapes the portal wrote them. Anything else keeps its words as
-- "text", shown as they were: nothing of the history is lost.
UPDATE events SET params = jsonb_build_object('approvers', to_jsonb(string_to_array(substr(detail, 12), ', ')))
WHERE kind = 'requested' AND detail LIKE 'approvers: %';

UPDATE events SET params = jsonb_build_object('email', split_part(detail, ' to ', 1),
    'to', jsonb_build_array(substr(detail, strpos(detail, ' to ') + 4)))
WHERE kind = 'emailed' AND strpos(detail, ' to ') > 0;

UPDATE events SET params = jsonb_build_object('to', jsonb_build_array(substr(detail, 4)))
WHERE kind = 'forwarded' AND detail LIKE 'to %';

UPDATE events SET params = jsonb_build_object('to', to_jsonb(string_to_array(detail, ', ')))
WHERE kind = 'reminded' AND detail <> '';

-- A reason is the approver's own words, in whatever language they wrote.
UPDATE events SET params = jsonb_build_object('reason', detail)
WHERE kind IN ('approved', 'denied') AND detail <> '';

UPDATE events SET params = jsonb_build_object('virtual_account', detail)
WHERE kind = 'virtual_account_created' AND detail <> '';

-- "ada@example.com: admin" (an approval) or "user #7: viewer on Lab" (a
-- grant); the user's number becomes their address.
UPDATE events e SET params = jsonb_strip_nulls(jsonb_build_object(
        'user', coalesce(u.email, m[1]),
        'role', m[2],
        'virtual_account', m[3]))
FROM (SELECT id, regexp_match(detail, '^(.+): (admin|user|viewer|approver)(?: on (.+))?$') AS m FROM events
      WHERE kind = 'access_granted') parsed
LEFT JOIN users u ON parsed.m[1] LIKE 'user #%' AND u.id::text = substr(parsed.m[1], 7)
WHERE e.id = parsed.id AND parsed.m IS NOT NULL;

UPDATE events e SET params = jsonb_strip_nulls(jsonb_build_object('role', m[1], 'virtual_account', m[2]))
FROM (SELECT id, regexp_match(detail, '^(admin|user|viewer|approver)(?: on (.+))?$') AS m FROM events
      WHERE kind = 'access_requested') parsed
WHERE e.id = parsed.id AND parsed.m IS NOT NULL;

UPDATE events SET params = jsonb_build_object('text', detail)
WHERE detail <> '' AND params = '{}';

ALTER TABLE events DROP COLUMN detail;
