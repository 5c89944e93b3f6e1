-- The access requests that wait on each administrator: one row per Smart
-- Account Administrator (a role on the account itself) of an active account
-- and pending access request to it. Pending Access Requests lists a page of
-- them in the order they were made; read from memberships and
-- access_requests, it read every account the viewer administers, 223 ms for
-- an administrator of 9,621 accounts, to show at most 500 rows. This is a
-- read model, not a cache: statement triggers on memberships, smart_accounts
-- and access_requests bring the rows of the accounts concerned up to date
-- inside the transaction that changes the sources.
CREATE TABLE admin_pending_access (
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_id       bigint NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    smart_account_id bigint NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (user_id, request_id)
);
CREATE INDEX admin_pending_access_page ON admin_pending_access (user_id, created_at, request_id);
CREATE INDEX admin_pending_access_account ON admin_pending_access (smart_account_id);

-- clc_refresh_admin_pending brings the rows of the given accounts up to
-- date. It locks the accounts' rows first, in id order, and reads the
-- sources afterwards: under READ COMMITTED each statement of a plpgsql
-- function takes a new snapshot, so a transaction granting a role waits for
-- one adding a request to the same account (or the other way round) and
-- then sees it, rather than each writing rows without the other's change.
-- Row locks, not advisory ones: a bulk load touches hundreds of thousands
-- of accounts, more than the lock table holds.
CREATE FUNCTION clc_refresh_admin_pending(ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM smart_accounts WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM admin_pending_access p
    WHERE p.smart_account_id = ANY (ids) AND NOT EXISTS (
        SELECT FROM access_requests r
        JOIN smart_accounts sa ON sa.id = r.smart_account_id AND sa.status = 'active'
        JOIN memberships m ON m.smart_account_id = r.smart_account_id AND m.virtual_account_id IS NULL AND m.role = 'admin'
        WHERE r.id = p.request_id AND r.status = 'pending' AND m.user_id = p.user_id AND r.smart_account_id = p.smart_account_id);
    INSERT INTO admin_pending_access (user_id, request_id, smart_account_id, created_at)
    SELECT DISTINCT m.user_id, r.id, r.smart_account_id, r.created_at
    FROM access_requests r
    JOIN smart_accounts sa ON sa.id = r.smart_account_id AND sa.status = 'active'
    JOIN memberships m ON m.smart_account_id = r.smart_account_id AND m.virtual_account_id IS NULL AND m.role = 'admin'
    WHERE r.smart_account_id = ANY (ids) AND r.status = 'pending'
    ON CONFLICT DO NOTHING;
END $$;

-- A membership counts when it makes its user an administrator of the Smart
-- Account itself.
CREATE FUNCTION admin_pending_memberships() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT smart_account_id) INTO ids FROM new_rows
        WHERE virtual_account_id IS NULL AND role = 'admin';
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT smart_account_id) INTO ids FROM old_rows
        WHERE virtual_account_id IS NULL AND role = 'admin';
    ELSE
        SELECT array_agg(DISTINCT smart_account_id) INTO ids FROM (
            SELECT smart_account_id FROM old_rows WHERE virtual_account_id IS NULL AND role = 'admin'
            UNION ALL
            SELECT smart_account_id FROM new_rows WHERE virtual_account_id IS NULL AND role = 'admin') x;
    END IF;
    PERFORM clc_refresh_admin_pending(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER admin_pending_insert AFTER INSERT ON memberships
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION admin_pending_memberships();
CREATE TRIGGER admin_pending_update AFTER UPDATE ON memberships
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION admin_pending_memberships();
CREATE TRIGGER admin_pending_delete AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION admin_pending_memberships();

-- An account that becomes active, or stops being, shows or hides what
-- waits on it. (A deleted account's rows go by cascade.)
CREATE FUNCTION admin_pending_accounts() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(n.id) INTO ids
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE (o.status = 'active') IS DISTINCT FROM (n.status = 'active');
    PERFORM clc_refresh_admin_pending(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER admin_pending_accounts AFTER UPDATE ON smart_accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION admin_pending_accounts();

-- An access request that starts or stops waiting, or moves, changes its
-- accounts' rows. (A deleted request's rows go by cascade.)
CREATE FUNCTION admin_pending_access_requests() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT smart_account_id) INTO ids FROM new_rows WHERE status = 'pending';
    ELSE
        SELECT array_agg(DISTINCT x.smart_account_id) INTO ids FROM (
            SELECT o.smart_account_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.status = 'pending') <> (n.status = 'pending') OR o.smart_account_id <> n.smart_account_id
                OR o.created_at <> n.created_at
            UNION ALL
            SELECT n.smart_account_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.status = 'pending') <> (n.status = 'pending') OR o.smart_account_id <> n.smart_account_id
                OR o.created_at <> n.created_at) x;
    END IF;
    PERFORM clc_refresh_admin_pending(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER admin_pending_requests_insert AFTER INSERT ON access_requests
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION admin_pending_access_requests();
CREATE TRIGGER admin_pending_requests_update AFTER UPDATE ON access_requests
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION admin_pending_access_requests();

-- The requests as they stand, in one statement.
INSERT INTO admin_pending_access (user_id, request_id, smart_account_id, created_at)
SELECT DISTINCT m.user_id, r.id, r.smart_account_id, r.created_at
FROM access_requests r
JOIN smart_accounts sa ON sa.id = r.smart_account_id AND sa.status = 'active'
JOIN memberships m ON m.smart_account_id = r.smart_account_id AND m.virtual_account_id IS NULL AND m.role = 'admin'
WHERE r.status = 'pending';
