-- The customer's consent (see internal/account/consent.go).

-- An approver address outside the account's domain gets no link until an
-- operator has reviewed the request and allowed it: until then it waits
-- here. Allowing it deletes the row and adds its approval link in the same
-- transaction, with an "approver_allowed" event naming the operator.
CREATE TABLE held_approvers (
    request_id bigint NOT NULL REFERENCES account_requests (id) ON DELETE CASCADE,
    email      text NOT NULL,
    held_at    timestamptz NOT NULL,
    PRIMARY KEY (request_id, email)
);

-- The User Emails the approver did not keep ticked when approving.
ALTER TABLE account_requests ADD COLUMN users_left_out text[] NOT NULL DEFAULT '{}';

-- Emails a user's actions caused, per UTC day: each transaction that queues
-- them adds its count under the row's lock and is refused past the limit.
CREATE TABLE email_quota (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day     date NOT NULL,
    sent    integer NOT NULL CHECK (sent >= 0),
    PRIMARY KEY (user_id, day)
);
