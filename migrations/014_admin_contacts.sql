-- Each Smart Account carries its administrators' contacts, the first 50 by
-- name (account.MaxShownAdmins, the most any page shows), as two parallel
-- arrays on its own row. Search, the directory and the account page show
-- them beside every account; read from memberships and users they cost
-- two or three index probes per account, about 100 per page of search,
-- which made administrators the largest part of a page's database time.
-- This is a read model, not a cache: statement triggers on memberships and
-- users rewrite it inside the transaction that changes its sources, so no
-- reader ever sees it differ from them.

ALTER TABLE smart_accounts
    ADD COLUMN admin_names text[] NOT NULL DEFAULT '{}',
    ADD COLUMN admin_emails text[] NOT NULL DEFAULT '{}';

-- clc_refresh_admin_contacts recomputes the contacts of the given accounts.
-- It locks their rows first, in id order, and computes afterwards: under
-- READ COMMITTED each statement of a plpgsql function takes a new snapshot,
-- so a second transaction adding an administrator to the same account waits
-- for the first and then sees its administrator too, rather than writing a
-- list computed before the first committed.
CREATE FUNCTION clc_refresh_admin_contacts(ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM smart_accounts WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
    UPDATE smart_accounts sa
    SET admin_names = c.names, admin_emails = c.emails
    FROM (
        SELECT x.id,
            coalesce(array_agg(a.name ORDER BY lower(a.name), a.uid) FILTER (WHERE a.uid IS NOT NULL), '{}') AS names,
            coalesce(array_agg(a.email ORDER BY lower(a.name), a.uid) FILTER (WHERE a.uid IS NOT NULL), '{}') AS emails
        FROM unnest(ids) x (id)
        LEFT JOIN LATERAL (
            SELECT u.id AS uid, u.name, u.email FROM memberships m
            JOIN users u ON u.id = m.user_id
            WHERE m.smart_account_id = x.id AND m.virtual_account_id IS NULL AND m.role = 'admin'
            ORDER BY lower(u.name), u.id
            LIMIT 50) a ON true
        GROUP BY x.id
    ) c
    WHERE sa.id = c.id AND (sa.admin_names, sa.admin_emails) IS DISTINCT FROM (c.names, c.emails);
END $$;

-- A membership counts when it is an administrator of the Smart Account
-- itself (a Virtual Account's administrator is not the account's contact).
CREATE FUNCTION admin_contacts_memberships() RETURNS trigger
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
    PERFORM clc_refresh_admin_contacts(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER admin_contacts_insert AFTER INSERT ON memberships
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION admin_contacts_memberships();
CREATE TRIGGER admin_contacts_update AFTER UPDATE ON memberships
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION admin_contacts_memberships();
CREATE TRIGGER admin_contacts_delete AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION admin_contacts_memberships();

-- A user's new name or email changes every account they administer. (A
-- deleted user's memberships go by cascade, which the triggers above see.)
CREATE FUNCTION admin_contacts_users() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(DISTINCT m.smart_account_id) INTO ids
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    JOIN memberships m ON m.user_id = n.id AND m.virtual_account_id IS NULL AND m.role = 'admin'
    WHERE (o.name, o.email) IS DISTINCT FROM (n.name, n.email);
    PERFORM clc_refresh_admin_contacts(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER admin_contacts_users AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION admin_contacts_users();

-- The accounts as they stand. One statement, not the function, so that a
-- million accounts are not locked one array at a time.
UPDATE smart_accounts sa
SET admin_names = c.names, admin_emails = c.emails
FROM (
    SELECT a.smart_account_id AS id,
        (array_agg(a.name ORDER BY lower(a.name), a.uid))[1:50] AS names,
        (array_agg(a.email ORDER BY lower(a.name), a.uid))[1:50] AS emails
    FROM (SELECT m.smart_account_id, u.id AS uid, u.name, u.email FROM memberships m
        JOIN users u ON u.id = m.user_id
        WHERE m.virtual_account_id IS NULL AND m.role = 'admin') a
    GROUP BY a.smart_account_id
) c
WHERE sa.id = c.id;
