-- What the left menu shows of Account Management, per user: how many
-- active accounts they are a Smart Account Administrator of and how many
-- access requests wait on those. Every signed-in page shows it; counted
-- from memberships and access_requests it cost a partner administering a
-- hundred accounts two hundred index probes (1.3 ms) per page. This is a
-- read model, not a cache: statement triggers on memberships, smart_accounts
-- and access_requests recompute the rows of the users concerned inside the
-- transaction that changes the sources, so no reader sees it differ from
-- them. A user with no row administers nothing.
CREATE TABLE management_menus (
    user_id  bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    accounts integer NOT NULL DEFAULT 0,
    pending  integer NOT NULL DEFAULT 0
);

-- clc_refresh_management_menus recomputes the rows of the given users. It
-- makes and locks their rows first, in id order, and counts afterwards:
-- under READ COMMITTED each statement of a plpgsql function takes a new
-- snapshot, so a second transaction adding an access request to the same
-- account waits for the first and then counts its request too, rather than
-- writing a count made before the first committed.
CREATE FUNCTION clc_refresh_management_menus(ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO management_menus (user_id)
        SELECT DISTINCT x.id FROM unnest(ids) x (id) JOIN users u ON u.id = x.id ORDER BY 1
        ON CONFLICT DO NOTHING;
    PERFORM 1 FROM management_menus WHERE user_id = ANY (ids) ORDER BY user_id FOR NO KEY UPDATE;
    UPDATE management_menus mm
    SET accounts = c.accounts, pending = c.pending
    FROM (
        SELECT x.id, count(sa.id)::int AS accounts, coalesce(sum(p.n), 0)::int AS pending
        FROM (SELECT DISTINCT id FROM unnest(ids) i (id)) x
        LEFT JOIN memberships m ON m.user_id = x.id AND m.virtual_account_id IS NULL AND m.role = 'admin'
        LEFT JOIN smart_accounts sa ON sa.id = m.smart_account_id AND sa.status = 'active'
        LEFT JOIN LATERAL (
            SELECT count(*) AS n FROM access_requests r
            WHERE r.smart_account_id = sa.id AND r.status = 'pending') p ON sa.id IS NOT NULL
        GROUP BY x.id
    ) c
    WHERE mm.user_id = c.id AND (mm.accounts, mm.pending) IS DISTINCT FROM (c.accounts, c.pending);
END $$;

-- A membership counts when it makes its user an administrator of the Smart
-- Account itself.
CREATE FUNCTION management_menus_memberships() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT user_id) INTO ids FROM new_rows
        WHERE virtual_account_id IS NULL AND role = 'admin';
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT user_id) INTO ids FROM old_rows
        WHERE virtual_account_id IS NULL AND role = 'admin';
    ELSE
        SELECT array_agg(DISTINCT user_id) INTO ids FROM (
            SELECT user_id FROM old_rows WHERE virtual_account_id IS NULL AND role = 'admin'
            UNION ALL
            SELECT user_id FROM new_rows WHERE virtual_account_id IS NULL AND role = 'admin') x;
    END IF;
    PERFORM clc_refresh_management_menus(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER management_menus_insert AFTER INSERT ON memberships
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION management_menus_memberships();
CREATE TRIGGER management_menus_update AFTER UPDATE ON memberships
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION management_menus_memberships();
CREATE TRIGGER management_menus_delete AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION management_menus_memberships();

-- An account that becomes active, or stops being, changes what its
-- administrators manage. (A deleted account's memberships go by cascade,
-- which the triggers above see.)
CREATE FUNCTION management_menus_accounts() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(DISTINCT m.user_id) INTO ids
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    JOIN memberships m ON m.smart_account_id = n.id AND m.virtual_account_id IS NULL AND m.role = 'admin'
    WHERE (o.status = 'active') IS DISTINCT FROM (n.status = 'active');
    PERFORM clc_refresh_management_menus(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER management_menus_accounts AFTER UPDATE ON smart_accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION management_menus_accounts();

-- An access request that starts or stops waiting changes the count of its
-- account's administrators.
CREATE FUNCTION management_menus_access_requests() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT m.user_id) INTO ids FROM new_rows n
        JOIN memberships m ON m.smart_account_id = n.smart_account_id AND m.virtual_account_id IS NULL AND m.role = 'admin'
        WHERE n.status = 'pending';
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT m.user_id) INTO ids FROM old_rows o
        JOIN memberships m ON m.smart_account_id = o.smart_account_id AND m.virtual_account_id IS NULL AND m.role = 'admin'
        WHERE o.status = 'pending';
    ELSE
        SELECT array_agg(DISTINCT m.user_id) INTO ids FROM (
            SELECT o.smart_account_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.status = 'pending') <> (n.status = 'pending') OR (o.status = 'pending' AND o.smart_account_id <> n.smart_account_id)
            UNION ALL
            SELECT n.smart_account_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.status = 'pending') <> (n.status = 'pending') OR (n.status = 'pending' AND o.smart_account_id <> n.smart_account_id)
        ) x
        JOIN memberships m ON m.smart_account_id = x.smart_account_id AND m.virtual_account_id IS NULL AND m.role = 'admin';
    END IF;
    PERFORM clc_refresh_management_menus(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER management_menus_requests_insert AFTER INSERT ON access_requests
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION management_menus_access_requests();
CREATE TRIGGER management_menus_requests_update AFTER UPDATE ON access_requests
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION management_menus_access_requests();
CREATE TRIGGER management_menus_requests_delete AFTER DELETE ON access_requests
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION management_menus_access_requests();

-- The users as they stand, in one statement.
INSERT INTO management_menus (user_id, accounts, pending)
SELECT m.user_id, count(*), coalesce(sum(p.n), 0)
FROM memberships m
JOIN smart_accounts sa ON sa.id = m.smart_account_id AND sa.status = 'active'
LEFT JOIN (SELECT smart_account_id, count(*) AS n FROM access_requests WHERE status = 'pending' GROUP BY 1) p
    ON p.smart_account_id = sa.id
WHERE m.virtual_account_id IS NULL AND m.role = 'admin'
GROUP BY m.user_id;
