-- Access requests and account management: a Virtual Account is always one of
-- its membership's Smart Account, a request may ask for several Virtual
-- Accounts, its decision is kept, and each account may have rules that
-- decide requests as they arrive.

-- A role on a Virtual Account of another Smart Account would count for the
-- wrong account. The composite keys make such a row impossible rather than
-- merely unwritten; no row breaks them today (Grant finds the Virtual Account
-- within its Smart Account), and one that did should stop the migration.
ALTER TABLE virtual_accounts ADD CONSTRAINT virtual_accounts_account_id_key UNIQUE (smart_account_id, id);
ALTER TABLE memberships
    DROP CONSTRAINT memberships_virtual_account_id_fkey,
    ADD CONSTRAINT memberships_virtual_account_fkey FOREIGN KEY (smart_account_id, virtual_account_id)
        REFERENCES virtual_accounts (smart_account_id, id) ON DELETE CASCADE;

-- "Selected Virtual Accounts": one row per Virtual Account asked for; none
-- means the entire Smart Account. Both keys hold the request's account, so a
-- request can only ask for Virtual Accounts of the account it is sent to.
ALTER TABLE access_requests ADD CONSTRAINT access_requests_account_id_key UNIQUE (smart_account_id, id);
CREATE TABLE access_request_virtual_accounts (
    request_id         bigint NOT NULL,
    smart_account_id   bigint NOT NULL,
    virtual_account_id bigint NOT NULL,
    PRIMARY KEY (request_id, virtual_account_id),
    FOREIGN KEY (smart_account_id, request_id) REFERENCES access_requests (smart_account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (smart_account_id, virtual_account_id) REFERENCES virtual_accounts (smart_account_id, id) ON DELETE CASCADE
);
INSERT INTO access_request_virtual_accounts (request_id, smart_account_id, virtual_account_id)
    SELECT id, smart_account_id, virtual_account_id FROM access_requests WHERE virtual_account_id IS NOT NULL;
ALTER TABLE access_requests DROP COLUMN virtual_account_id;

-- The decision: why (sent to the requester), which rule took it when no
-- person did, and what was granted, which may be narrower than what was
-- asked. The granted Virtual Accounts are names as they were at the time,
-- for the record; the memberships are what gives access.
ALTER TABLE access_requests
    ADD COLUMN decision_reason text NOT NULL DEFAULT '' CHECK (char_length(decision_reason) <= 1000),
    ADD COLUMN decided_by_rule text NOT NULL DEFAULT '' CHECK (decided_by_rule IN ('', 'same_domain', 'other_domain')),
    ADD COLUMN granted_role text CHECK (granted_role IN ('admin', 'user', 'viewer')),
    ADD COLUMN granted_virtual_accounts text[] NOT NULL DEFAULT '{}';

-- "Access request Automation settings": what happens to a request as it
-- arrives, by whether the requester's email domain is the account's (or
-- under it). No row means every request waits for a person.
CREATE TABLE access_automation (
    smart_account_id   bigint PRIMARY KEY REFERENCES smart_accounts (id) ON DELETE CASCADE,
    same_domain        text NOT NULL CHECK (same_domain IN ('manual', 'approve')),
    same_domain_role   text NOT NULL CHECK (same_domain_role IN ('admin', 'user', 'viewer')),
    -- NULL: the entire Smart Account. Losing the Virtual Account drops the
    -- rules, which leaves every request to a person, never a wider grant.
    same_domain_virtual_account_id bigint,
    other_domain       text NOT NULL CHECK (other_domain IN ('manual', 'decline')),
    updated_at         timestamptz NOT NULL,
    FOREIGN KEY (smart_account_id, same_domain_virtual_account_id)
        REFERENCES virtual_accounts (smart_account_id, id) ON DELETE CASCADE
);
