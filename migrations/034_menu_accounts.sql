-- The account the left menu names for each user: the one holding their
-- email's domain or a domain above it, then a partner holding, then any,
-- each by their strongest role on it, then by id. Every signed-in page read
-- it inside the session's statement, and the rule cost PostgreSQL about
-- 60 µs of that statement's 112 (measured on the bench's 1M accounts): more
-- than the session itself. This is a read model, not a cache: statement
-- triggers on memberships, smart_accounts and users bring the rows of the
-- users concerned up to date inside the transaction that changes the
-- sources.
--
-- A user with no role has no account to name: a row with a NULL account
-- (kept once made, so that it can serve as the user's lock; see below) or
-- no row.
CREATE TABLE menu_accounts (
    user_id          bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    smart_account_id bigint REFERENCES smart_accounts (id) ON DELETE SET NULL
);
CREATE INDEX menu_accounts_account ON menu_accounts (smart_account_id);

-- clc_menu_account_rule picks the menu's account for each user of ids, as
-- the rule above says: one row per user who holds a role. For a few users,
-- each of the rule's three tiers is a query of its own, tried in turn until
-- one finds an account, so that granting a role to an administrator of
-- 9,621 accounts costs a few index probes rather than a read of every
-- account they hold (94 ms). For many users at once (a bulk load), one sort
-- of all their roles is cheaper than a thousand probes each.
CREATE FUNCTION clc_menu_account_rule(ids bigint[]) RETURNS TABLE (user_id bigint, smart_account_id bigint)
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF cardinality(ids) > 1000 THEN
        RETURN QUERY
        SELECT DISTINCT ON (m.user_id) m.user_id, m.smart_account_id
        FROM memberships m
        JOIN smart_accounts own ON own.id = m.smart_account_id
        JOIN users u ON u.id = m.user_id
        WHERE m.user_id = ANY (ids)
        ORDER BY m.user_id,
            (split_part(u.email, '@', 2) = own.domain OR split_part(u.email, '@', 2) LIKE '%.' || own.domain) DESC,
            own.account_type = 'partner_holding' DESC,
            CASE m.role WHEN 'admin' THEN 4 WHEN 'approver' THEN 3 WHEN 'user' THEN 2 ELSE 1 END DESC,
            m.smart_account_id;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT u.id, pick.id
    FROM users u
    CROSS JOIN LATERAL (
        (SELECT own.id
        FROM smart_accounts own
        CROSS JOIN LATERAL (SELECT max(CASE m.role WHEN 'admin' THEN 4 WHEN 'approver' THEN 3 WHEN 'user' THEN 2 ELSE 1 END) AS rank
            FROM memberships m WHERE m.user_id = u.id AND m.smart_account_id = own.id) held
        -- the accounts holding the email's domain or one above it, by the
        -- domain index
        WHERE own.domain = ANY (ARRAY(
                SELECT array_to_string(l.labels[i:], '.')
                FROM (SELECT string_to_array(split_part(u.email, '@', 2), '.') AS labels) l,
                    generate_subscripts(l.labels, 1) i))
            AND held.rank IS NOT NULL
        ORDER BY own.account_type = 'partner_holding' DESC, held.rank DESC, own.id
        LIMIT 1)
        UNION ALL
        (SELECT m.smart_account_id
        FROM memberships m
        JOIN smart_accounts own ON own.id = m.smart_account_id
        WHERE m.user_id = u.id AND own.account_type = 'partner_holding'
        ORDER BY CASE m.role WHEN 'admin' THEN 4 WHEN 'approver' THEN 3 WHEN 'user' THEN 2 ELSE 1 END DESC, m.smart_account_id
        LIMIT 1)
        UNION ALL
        (SELECT m.smart_account_id
        FROM memberships m
        WHERE m.user_id = u.id
        ORDER BY CASE m.role WHEN 'admin' THEN 4 WHEN 'approver' THEN 3 WHEN 'user' THEN 2 ELSE 1 END DESC, m.smart_account_id
        LIMIT 1)
        LIMIT 1) pick
    WHERE u.id = ANY (ids);
END $$;

-- clc_refresh_menu_accounts brings the rows of the given users up to date.
-- It first makes sure each has a row and locks those rows, in id order; it
-- reads the sources afterwards. Each statement of a plpgsql function takes
-- a new snapshot, so of two transactions that change the same user's roles
-- the second waits for the first and then sees its change. The lock is the
-- read model's own row, which nothing else locks: locking the user's row
-- instead would wait behind a rename, which locks accounts after the user
-- (migration 014), while these triggers run after those that lock accounts.
CREATE FUNCTION clc_refresh_menu_accounts(ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO menu_accounts (user_id)
    SELECT u.id FROM users u WHERE u.id = ANY (ids) ORDER BY u.id
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM menu_accounts WHERE user_id = ANY (ids) ORDER BY user_id FOR UPDATE;
    UPDATE menu_accounts ma SET smart_account_id = pick.smart_account_id
    FROM (SELECT i.id, r.smart_account_id
        FROM unnest(ids) i (id) LEFT JOIN clc_menu_account_rule(ids) r ON r.user_id = i.id) pick
    WHERE ma.user_id = pick.id AND ma.smart_account_id IS DISTINCT FROM pick.smart_account_id;
END $$;

-- Any role a user gains, loses or changes can change their pick.
CREATE FUNCTION menu_accounts_memberships() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT user_id) INTO ids FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT user_id) INTO ids FROM old_rows;
    ELSE
        SELECT array_agg(DISTINCT x.user_id) INTO ids FROM (
            SELECT user_id FROM old_rows UNION ALL SELECT user_id FROM new_rows) x;
    END IF;
    PERFORM clc_refresh_menu_accounts(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER menu_accounts_insert AFTER INSERT ON memberships
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION menu_accounts_memberships();
CREATE TRIGGER menu_accounts_update AFTER UPDATE ON memberships
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION menu_accounts_memberships();
CREATE TRIGGER menu_accounts_delete AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION menu_accounts_memberships();

-- An account's domain or type decides whose pick it is for its holders. (Its
-- name is read with the pick; a deleted account's memberships go by
-- cascade, which the triggers above see.)
CREATE FUNCTION menu_accounts_accounts() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(DISTINCT m.user_id) INTO ids
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    JOIN memberships m ON m.smart_account_id = n.id
    WHERE (o.domain, o.account_type) IS DISTINCT FROM (n.domain, n.account_type);
    PERFORM clc_refresh_menu_accounts(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER menu_accounts_accounts AFTER UPDATE ON smart_accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION menu_accounts_accounts();

-- A user's email decides which domain is their own.
CREATE FUNCTION menu_accounts_users() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(n.id) INTO ids
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.email IS DISTINCT FROM n.email
        AND EXISTS (SELECT FROM memberships m WHERE m.user_id = n.id);
    PERFORM clc_refresh_menu_accounts(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER menu_accounts_users AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION menu_accounts_users();

-- The picks as they stand, in one statement.
INSERT INTO menu_accounts (user_id, smart_account_id)
SELECT DISTINCT ON (m.user_id) m.user_id, m.smart_account_id
FROM memberships m
JOIN smart_accounts own ON own.id = m.smart_account_id
JOIN users u ON u.id = m.user_id
ORDER BY m.user_id,
    (split_part(u.email, '@', 2) = own.domain OR split_part(u.email, '@', 2) LIKE '%.' || own.domain) DESC,
    own.account_type = 'partner_holding' DESC,
    CASE m.role WHEN 'admin' THEN 4 WHEN 'approver' THEN 3 WHEN 'user' THEN 2 ELSE 1 END DESC,
    m.smart_account_id;
