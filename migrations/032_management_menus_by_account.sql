-- management_menus (migration 016) is kept by recounting every account of
-- each administrator concerned: an access request to an account whose four
-- administrators manage 19,000 accounts between them took 38 ms in its
-- trigger, warm, on the bench's million accounts (214 ms in a new session),
-- where the change concerns one account. A user's counts are the sum, over
-- the active accounts they are a Smart Account Administrator of, of one
-- account and its pending requests; so each change now adds or takes away
-- the part of the accounts it touched, and costs what those accounts hold.
--
-- Concurrency: every change locks the rows of the accounts it touches, in id
-- order, before it reads what it adds (a smart_accounts UPDATE holds them
-- already), and each statement of a plpgsql function takes a new snapshot
-- under READ COMMITTED. So of a request and a role granted on the same
-- account at once, the second to lock it sees the first: the role adds a
-- count of requests that includes the request, or the request adds to the
-- new administrator. The same holds for an account that stops or starts
-- being active. The updates to a user's row are sums, applied in user id
-- order.

-- clc_management_menus_admins adds the Smart Account Administrator roles
-- (user, account, sign): +1 for a role given, -1 for one taken. A role on an
-- account that no longer exists (deleted, its memberships going by cascade)
-- cannot say what it counted: its users are recounted whole.
CREATE FUNCTION clc_management_menus_admins(users bigint[], accounts bigint[], signs int[]) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    gone bigint[];
BEGIN
    IF users IS NULL OR cardinality(users) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM smart_accounts WHERE id = ANY (accounts) ORDER BY id FOR NO KEY UPDATE;
    SELECT array_agg(DISTINCT c.u) INTO gone FROM unnest(users, accounts) c (u, a)
    WHERE NOT EXISTS (SELECT FROM smart_accounts sa WHERE sa.id = c.a);
    PERFORM clc_refresh_management_menus(gone);
    INSERT INTO management_menus AS mm (user_id, accounts, pending)
    SELECT c.u, sum(c.s)::int,
        sum(c.s * (SELECT count(*) FROM access_requests r WHERE r.smart_account_id = c.a AND r.status = 'pending'))::int
    FROM unnest(users, accounts, signs) c (u, a, s)
    JOIN smart_accounts sa ON sa.id = c.a AND sa.status = 'active'
    JOIN users u ON u.id = c.u
    WHERE gone IS NULL OR c.u <> ALL (gone)
    GROUP BY c.u
    HAVING sum(c.s) <> 0
    ORDER BY c.u
    ON CONFLICT (user_id) DO UPDATE SET accounts = mm.accounts + EXCLUDED.accounts, pending = mm.pending + EXCLUDED.pending;
END $$;

-- clc_management_menus_pending adds, for each account, how many more
-- requests wait on it (a negative number: fewer) to its administrators',
-- while it is active.
CREATE FUNCTION clc_management_menus_pending(accounts bigint[], deltas int[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF accounts IS NULL OR cardinality(accounts) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM smart_accounts WHERE id = ANY (accounts) ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO management_menus AS mm (user_id, accounts, pending)
    SELECT m.user_id, 0, sum(c.d)::int
    FROM unnest(accounts, deltas) c (a, d)
    JOIN smart_accounts sa ON sa.id = c.a AND sa.status = 'active'
    JOIN memberships m ON m.smart_account_id = c.a AND m.virtual_account_id IS NULL AND m.role = 'admin'
    GROUP BY m.user_id
    HAVING sum(c.d) <> 0
    ORDER BY m.user_id
    ON CONFLICT (user_id) DO UPDATE SET pending = mm.pending + EXCLUDED.pending;
END $$;

CREATE OR REPLACE FUNCTION management_menus_memberships() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    users bigint[];
    accounts bigint[];
    signs int[];
BEGIN
    -- Each (user, account) whose Smart Account Administrator role the
    -- statement gave (+1) or took (-1), netted: memberships has no key of its
    -- own, so an update's pairs are its old ones taken and its new ones given.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(user_id), array_agg(smart_account_id), array_agg(s) INTO users, accounts, signs FROM (
            SELECT user_id, smart_account_id, count(*)::int AS s FROM new_rows
            WHERE virtual_account_id IS NULL AND role = 'admin' GROUP BY 1, 2) x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(user_id), array_agg(smart_account_id), array_agg(s) INTO users, accounts, signs FROM (
            SELECT user_id, smart_account_id, -count(*)::int AS s FROM old_rows
            WHERE virtual_account_id IS NULL AND role = 'admin' GROUP BY 1, 2) x;
    ELSE
        SELECT array_agg(user_id), array_agg(smart_account_id), array_agg(s) INTO users, accounts, signs FROM (
            SELECT user_id, smart_account_id, sum(s)::int AS s FROM (
                SELECT user_id, smart_account_id, 1 AS s FROM new_rows WHERE virtual_account_id IS NULL AND role = 'admin'
                UNION ALL
                SELECT user_id, smart_account_id, -1 FROM old_rows WHERE virtual_account_id IS NULL AND role = 'admin') c
            GROUP BY 1, 2 HAVING sum(s) <> 0) x;
    END IF;
    PERFORM clc_management_menus_admins(users, accounts, signs);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION management_menus_accounts() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    -- The statement's UPDATE holds the rows of the accounts it changed.
    INSERT INTO management_menus AS mm (user_id, accounts, pending)
    SELECT m.user_id, sum(c.s)::int,
        sum(c.s * (SELECT count(*) FROM access_requests r WHERE r.smart_account_id = c.id AND r.status = 'pending'))::int
    FROM (
        SELECT n.id, CASE WHEN n.status = 'active' THEN 1 ELSE -1 END AS s
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.status = 'active') IS DISTINCT FROM (n.status = 'active')
    ) c
    JOIN memberships m ON m.smart_account_id = c.id AND m.virtual_account_id IS NULL AND m.role = 'admin'
    GROUP BY m.user_id
    ORDER BY m.user_id
    ON CONFLICT (user_id) DO UPDATE SET accounts = mm.accounts + EXCLUDED.accounts, pending = mm.pending + EXCLUDED.pending;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION management_menus_access_requests() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    accounts bigint[];
    deltas int[];
BEGIN
    -- Per account, how many more requests wait on it after the statement.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(smart_account_id), array_agg(d) INTO accounts, deltas FROM (
            SELECT smart_account_id, count(*)::int AS d FROM new_rows WHERE status = 'pending' GROUP BY 1) x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(smart_account_id), array_agg(d) INTO accounts, deltas FROM (
            SELECT smart_account_id, -count(*)::int AS d FROM old_rows WHERE status = 'pending' GROUP BY 1) x;
    ELSE
        SELECT array_agg(smart_account_id), array_agg(d) INTO accounts, deltas FROM (
            SELECT smart_account_id, sum(d)::int AS d FROM (
                SELECT smart_account_id, 1 AS d FROM new_rows WHERE status = 'pending'
                UNION ALL
                SELECT smart_account_id, -1 FROM old_rows WHERE status = 'pending') c
            GROUP BY 1 HAVING sum(d) <> 0) x;
    END IF;
    PERFORM clc_management_menus_pending(accounts, deltas);
    RETURN NULL;
END $$;
