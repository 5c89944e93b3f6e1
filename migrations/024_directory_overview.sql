-- The directory is an overview: each section shows its first rows and its
-- total, "10 of 30,000". A count(*) of a section reads every row the
-- overview does not show (the user's entries of accessible_accounts, of
-- smart_accounts_created_by_idx, of access_requests_user_idx): a partner
-- with 30,000 accounts would pay for all of them on every overview.
-- directory_counts holds each user's total per section, kept by statement
-- triggers in the transaction that changes the rows counted, so no reader
-- sees it differ from them. The fourth section, the accounts under the
-- user's email domain, is counted from its rows: one live account per
-- domain (smart_accounts_live_domain_key), so it has a handful at most.
--
-- A user's total is spread over slots, one per backend (pg_backend_pid()
-- modulo 16), and read as their sum: two transactions that change one
-- user's count at once (a partner submitting requests from two sessions)
-- mostly update different rows, rather than the second waiting until the
-- first commits. A reader sums at most 16 rows a section.

CREATE TABLE directory_counts (
    user_id bigint NOT NULL,
    section text NOT NULL CHECK (section IN ('access', 'requested', 'created')),
    slot    smallint NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (user_id, section, slot)
);

-- Adds each user's delta to their count of section, users in id order so
-- that two statements touching the same users lock their rows in one order.
CREATE FUNCTION directory_counts_add(sec text, deltas jsonb) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO directory_counts AS c (user_id, section, slot, n)
    SELECT d.key::bigint, sec, pg_backend_pid() % 16, d.value::bigint
    FROM jsonb_each_text(deltas) d
    WHERE d.value::bigint <> 0
    ORDER BY d.key::bigint
    ON CONFLICT (user_id, section, slot) DO UPDATE SET n = c.n + excluded.n
$$;

-- "Accounts you can access": a row of accessible_accounts each.
CREATE FUNCTION directory_counts_access() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    deltas jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_object_agg(user_id, n) INTO deltas
        FROM (SELECT user_id, count(*) AS n FROM new_rows GROUP BY user_id) x;
    ELSE
        SELECT jsonb_object_agg(user_id, -n) INTO deltas
        FROM (SELECT user_id, count(*) AS n FROM old_rows GROUP BY user_id) x;
    END IF;
    IF deltas IS NOT NULL THEN
        PERFORM directory_counts_add('access', deltas);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER directory_counts_insert AFTER INSERT ON accessible_accounts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_access();
CREATE TRIGGER directory_counts_delete AFTER DELETE ON accessible_accounts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_access();

-- "Accounts you asked access to": the user's pending and declined requests.
CREATE FUNCTION directory_counts_requested() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    deltas jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_object_agg(user_id, n) INTO deltas
        FROM (SELECT user_id, count(*) AS n FROM new_rows WHERE status IN ('pending', 'declined') GROUP BY user_id) x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_object_agg(user_id, -n) INTO deltas
        FROM (SELECT user_id, count(*) AS n FROM old_rows WHERE status IN ('pending', 'declined') GROUP BY user_id) x;
    ELSE
        SELECT jsonb_object_agg(user_id, n) INTO deltas
        FROM (SELECT user_id, sum(n) AS n FROM (
            SELECT user_id, 1 AS n FROM new_rows WHERE status IN ('pending', 'declined')
            UNION ALL
            SELECT user_id, -1 FROM old_rows WHERE status IN ('pending', 'declined')) c
            GROUP BY user_id HAVING sum(n) <> 0) x;
    END IF;
    IF deltas IS NOT NULL THEN
        PERFORM directory_counts_add('requested', deltas);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER directory_counts_insert AFTER INSERT ON access_requests
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_requested();
CREATE TRIGGER directory_counts_update AFTER UPDATE ON access_requests
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_requested();
CREATE TRIGGER directory_counts_delete AFTER DELETE ON access_requests
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_requested();

-- "Accounts you asked to have created": every account the user created.
-- Most updates of smart_accounts (a status, the administrators' names)
-- leave created_by as it was and cost one join of the transition tables.
CREATE FUNCTION directory_counts_created() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    deltas jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_object_agg(created_by, n) INTO deltas
        FROM (SELECT created_by, count(*) AS n FROM new_rows WHERE created_by IS NOT NULL GROUP BY created_by) x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_object_agg(created_by, -n) INTO deltas
        FROM (SELECT created_by, count(*) AS n FROM old_rows WHERE created_by IS NOT NULL GROUP BY created_by) x;
    ELSE
        SELECT jsonb_object_agg(user_id, n) INTO deltas
        FROM (SELECT user_id, sum(n) AS n FROM (
            SELECT n.created_by AS user_id, 1 AS n FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE n.created_by IS DISTINCT FROM o.created_by AND n.created_by IS NOT NULL
            UNION ALL
            SELECT o.created_by, -1 FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE n.created_by IS DISTINCT FROM o.created_by AND o.created_by IS NOT NULL) c
            GROUP BY user_id HAVING sum(n) <> 0) x;
    END IF;
    IF deltas IS NOT NULL THEN
        PERFORM directory_counts_add('created', deltas);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER directory_counts_insert AFTER INSERT ON smart_accounts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_created();
CREATE TRIGGER directory_counts_update AFTER UPDATE ON smart_accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_created();
CREATE TRIGGER directory_counts_delete AFTER DELETE ON smart_accounts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_created();

INSERT INTO directory_counts (user_id, section, slot, n)
SELECT user_id, 'access', 0, count(*) FROM accessible_accounts GROUP BY user_id
UNION ALL
SELECT user_id, 'requested', 0, count(*) FROM access_requests WHERE status IN ('pending', 'declined') GROUP BY user_id
UNION ALL
SELECT created_by, 'created', 0, count(*) FROM smart_accounts WHERE created_by IS NOT NULL GROUP BY created_by;

-- Every listing says whether the viewer asked for access to each account
-- of its page. Read as "the account is among the viewer's requests", the
-- planner hashed all of the viewer's requests first: 370 buffers on every
-- page, the overview's four sections included, for a partner with 30,000
-- requests. One probe of this index per account of the page reads what the
-- page shows alone.
CREATE INDEX access_requests_account_user_idx ON access_requests (smart_account_id, user_id);
