-- Two read models follow who administers a Smart Account: the account's
-- administrator contacts (014) and the access requests that wait on each
-- administrator (031). Each had its own three statement triggers on
-- memberships that collected the same accounts from the same transition
-- tables, so a role change read them twice. One function now collects the
-- accounts once and brings both read models up to date, in the order the
-- two triggers fired before (contacts, then pending requests); the triggers
-- keep their place among the other triggers on memberships, after
-- accessible_accounts_* and before management_menus_*.
DROP TRIGGER admin_pending_insert ON memberships;
DROP TRIGGER admin_pending_update ON memberships;
DROP TRIGGER admin_pending_delete ON memberships;
DROP FUNCTION admin_pending_memberships();

ALTER FUNCTION admin_contacts_memberships() RENAME TO account_admins_memberships;
ALTER TRIGGER admin_contacts_insert ON memberships RENAME TO account_admins_insert;
ALTER TRIGGER admin_contacts_update ON memberships RENAME TO account_admins_update;
ALTER TRIGGER admin_contacts_delete ON memberships RENAME TO account_admins_delete;

-- A membership counts when it makes its user an administrator of the Smart
-- Account itself (a Virtual Account's administrator is neither the
-- account's contact nor asked about access to it).
CREATE OR REPLACE FUNCTION account_admins_memberships() RETURNS trigger
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
    PERFORM clc_refresh_admin_pending(ids);
    RETURN NULL;
END $$;
