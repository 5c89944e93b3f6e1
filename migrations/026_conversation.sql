-- A conversation on each request and the follow-through that keeps a
-- request from stalling (issue 23).

-- When an approver's page was first seen by a person: the page's script
-- tells the server after it loads (mail scanners that only fetch the link
-- do not), and any action from the page counts too. Opening the link
-- itself still changes nothing.
ALTER TABLE approval_links ADD COLUMN opened_at timestamptz;

-- Each step of the follow-through a request went through, at most once:
-- the staged reminders (reminder_30d, reminder_7d, ...), the partner's
-- notice that nobody opened the page (not_opened) and the operators' flag
-- (no_response). The primary key makes every step happen once, whichever
-- worker gets there.
CREATE TABLE request_followups (
    request_id bigint NOT NULL REFERENCES account_requests (id) ON DELETE CASCADE,
    step       text   NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (request_id, step)
);

-- The pending requests nobody has opened, oldest first, for the jobs.
CREATE INDEX account_requests_pending_created ON account_requests (created_at) WHERE status = 'pending';
