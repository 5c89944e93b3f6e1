-- The directory's first section, "Accounts you can access", is a user's
-- accounts in name order, 25 to a page. Read from the sources it is every
-- membership of the user, each account fetched by id, filtered and sorted
-- before the page is cut: for a partner with roles on 300 accounts, 1,200
-- buffers and 3 ms a page at 200,000 accounts, most of the directory's
-- database time. accessible_accounts holds, per user, the accounts they hold
-- any role on (the account's own or one of its Virtual Accounts'), keyed in
-- the section's order and carrying what its filter reads, so that a page is
-- one range of one index, read without the table. Its room is about that
-- of memberships, a row per user and account: 55 MB and a 51 MB key at
-- 200,000 accounts.
--
-- This is a read model, not a cache: statement triggers on memberships and
-- smart_accounts change it inside the transaction that changes its
-- sources, so no reader ever sees it differ from them.

CREATE TABLE accessible_accounts (
    user_id          bigint NOT NULL,
    name_folded      text COLLATE "C" NOT NULL,
    smart_account_id bigint NOT NULL,
    domain           text NOT NULL
);

-- A statement's triggers bring accessible_accounts in line with the pairs
-- of user and account whose memberships it changed: each pair it gave a
-- membership has a row (its membership is there: no need to look), each
-- pair it took one from keeps its row only while it has another. Only
-- those pairs: a role granted beside another on the same account, or a
-- role changed, changes no pair. memberships has no key of its own, so an
-- update's pairs are its old ones and its new ones, those that differ.
--
-- The pairs' accounts are locked first, in id order, and read afterwards:
-- under READ COMMITTED each statement of a plpgsql function takes a new
-- snapshot, so of two transactions changing one account's memberships (one
-- taking away a user's last role on it while the other grants them
-- another), or one renaming it while the other grants a role on it, the
-- second to lock sees what the first committed. An account that is gone
-- (its memberships went by cascade) has no row to lock and none to keep.
CREATE FUNCTION accessible_accounts_memberships() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    added_users bigint[];
    added_accounts bigint[];
    removed_users bigint[];
    removed_accounts bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(p.user_id), array_agg(p.smart_account_id) INTO added_users, added_accounts
        FROM (SELECT DISTINCT user_id, smart_account_id FROM new_rows) p;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(p.user_id), array_agg(p.smart_account_id) INTO removed_users, removed_accounts
        FROM (SELECT DISTINCT user_id, smart_account_id FROM old_rows) p;
    ELSE
        SELECT array_agg(p.user_id), array_agg(p.smart_account_id) INTO added_users, added_accounts
        FROM (SELECT user_id, smart_account_id FROM new_rows EXCEPT SELECT user_id, smart_account_id FROM old_rows) p;
        SELECT array_agg(p.user_id), array_agg(p.smart_account_id) INTO removed_users, removed_accounts
        FROM (SELECT user_id, smart_account_id FROM old_rows EXCEPT SELECT user_id, smart_account_id FROM new_rows) p;
    END IF;
    IF added_users IS NULL AND removed_users IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM smart_accounts
    WHERE id = ANY (coalesce(added_accounts, '{}') || coalesce(removed_accounts, '{}'))
    ORDER BY id FOR NO KEY UPDATE;
    IF removed_users IS NOT NULL THEN
        DELETE FROM accessible_accounts a
        USING unnest(removed_users, removed_accounts) p (user_id, smart_account_id)
        WHERE a.user_id = p.user_id AND a.smart_account_id = p.smart_account_id
            AND NOT EXISTS (SELECT FROM memberships m WHERE m.user_id = p.user_id AND m.smart_account_id = p.smart_account_id);
    END IF;
    IF added_users IS NOT NULL THEN
        INSERT INTO accessible_accounts (user_id, name_folded, smart_account_id, domain)
        SELECT p.user_id, sa.name_folded, sa.id, sa.domain
        FROM unnest(added_users, added_accounts) p (user_id, smart_account_id)
        JOIN smart_accounts sa ON sa.id = p.smart_account_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

-- Named to fire before migration 014's admin_contacts_* triggers (a
-- statement's triggers fire in name order): both lock accounts in id order,
-- these all the statement touched and 014's a part of them, so taking all
-- first keeps two statements from each holding an account the other waits for.
CREATE TRIGGER accessible_accounts_insert AFTER INSERT ON memberships
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accessible_accounts_memberships();
CREATE TRIGGER accessible_accounts_update AFTER UPDATE ON memberships
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accessible_accounts_memberships();
CREATE TRIGGER accessible_accounts_delete AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accessible_accounts_memberships();

-- A renamed account, or one with a new domain, moves in every list it is
-- on. The statement that changed it holds its row, so a grant on it waits
-- (the triggers above lock the row) and then reads the new name; a grant
-- committed before it is among the memberships read here. Most updates
-- (a status, admin_names) change neither, and cost one join of the
-- transition tables.
CREATE FUNCTION accessible_accounts_smart_accounts() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    changed bigint[];
BEGIN
    SELECT array_agg(n.id) INTO changed
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE (o.name_folded, o.domain) IS DISTINCT FROM (n.name_folded, n.domain);
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE accessible_accounts a SET name_folded = c.name_folded, domain = c.domain
    FROM (
        SELECT DISTINCT m.user_id, o.name_folded AS old_name, n.id, n.name_folded, n.domain
        FROM unnest(changed) x (id)
        JOIN old_rows o ON o.id = x.id
        JOIN new_rows n ON n.id = x.id
        JOIN memberships m ON m.smart_account_id = x.id
    ) c
    WHERE a.user_id = c.user_id AND a.name_folded = c.old_name AND a.smart_account_id = c.id;
    RETURN NULL;
END $$;

CREATE TRIGGER accessible_accounts_rename AFTER UPDATE ON smart_accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accessible_accounts_smart_accounts();

INSERT INTO accessible_accounts (user_id, name_folded, smart_account_id, domain)
SELECT DISTINCT m.user_id, sa.name_folded, sa.id, sa.domain
FROM memberships m JOIN smart_accounts sa ON sa.id = m.smart_account_id;
-- The key after the rows: built at once, it is sorted rather than grown.
-- It carries the domain, which the filter reads, so a page reads the key alone.
ALTER TABLE accessible_accounts ADD PRIMARY KEY (user_id, name_folded, smart_account_id) INCLUDE (domain);

-- "Accounts you asked to have created" is read newest first through this
-- index, which stops after a page; with a filter it reads every account
-- the user asked for, and fetched each from the table to compare its name
-- and domain. Carrying them lets the filter read the index alone.
DROP INDEX smart_accounts_created_by_idx;
CREATE INDEX smart_accounts_created_by_idx ON smart_accounts (created_by, created_at DESC, id DESC)
    INCLUDE (name_folded, domain)
    WHERE created_by IS NOT NULL;
