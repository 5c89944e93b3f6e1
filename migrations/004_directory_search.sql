-- The directory, the account pages and Smart Account search: folded names
-- with trigram indexes, access requests, and the indexes each directory
-- section reads through.

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

-- clc_fold is what search compares: lowercase without accents, so "zurich"
-- finds "Zürich". unaccent() is only STABLE (its dictionary could change), and
-- neither an index nor a generated column accepts that; we declare the
-- wrapper IMMUTABLE and promise not to edit the dictionary. Naming the
-- dictionary with its schema keeps the function correct under the empty
-- search_path that pg_dump and autovacuum use.
CREATE FUNCTION clc_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1));

-- Stored, so a query compares plain text: unaccent runs once per write, not
-- once per row a search looks at. Collation "C" orders by code point, so
-- the names that start with a query are one range of a btree in name order,
-- whatever the database's own collation.
ALTER TABLE smart_accounts ADD COLUMN name_folded text COLLATE "C" GENERATED ALWAYS AS (clc_fold(name)) STORED;

-- Parts of a name or domain: a trigram index serves LIKE '%…%'. One index
-- over both costs one index scan per search where two would cost two; a
-- match that only straddles the space is filtered out afterwards.
CREATE INDEX smart_accounts_search_trgm_idx ON smart_accounts
    USING gin ((name_folded || ' ' || domain) gin_trgm_ops);
-- Search chooses between this index and walking the name index by how
-- common the query is, judged from the sample of names the statistics keep
-- (the planner reads it, and so does the store: see wordSample). The
-- default hundred cannot tell a word in one name in a hundred from one in
-- ten thousand; a thousand can, for a tenth of a millisecond more planning.
ALTER INDEX smart_accounts_search_trgm_idx ALTER COLUMN 1 SET STATISTICS 1000;
-- Results come in name order, names that start with the query first. This
-- index finds those as a range. For a query found inside a large share of
-- all names, walking it in order and stopping after one page beats sorting
-- every match; it carries what the search filters on, so that walk never
-- reads the table.
CREATE INDEX smart_accounts_name_folded_idx ON smart_accounts (name_folded, id)
    INCLUDE (domain, status, restricted);
-- Exact domains of every status: restricted accounts found by their entire
-- domain, and the directory's "matching your email domain" section.
CREATE INDEX smart_accounts_domain_idx ON smart_accounts (domain);
-- Administrators to contact, for a page of accounts at a time.
CREATE INDEX memberships_admins_idx ON memberships (smart_account_id) INCLUDE (user_id)
    WHERE role = 'admin' AND virtual_account_id IS NULL;
-- The directory's "accounts you asked to have created", newest first.
CREATE INDEX smart_accounts_created_by_idx ON smart_accounts (created_by, created_at DESC, id DESC)
    WHERE created_by IS NOT NULL;

-- A user asks for a role on a Smart Account or one of its Virtual Accounts;
-- its administrators approve or decline.
CREATE TABLE access_requests (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    smart_account_id   bigint NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    virtual_account_id bigint REFERENCES virtual_accounts (id) ON DELETE CASCADE,
    role               text NOT NULL CHECK (role IN ('admin', 'user', 'viewer')),
    reason             text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
    created_at         timestamptz NOT NULL,
    decided_at         timestamptz,
    decided_by         bigint REFERENCES users (id),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- One open request per user and account: asking again while one waits is refused.
CREATE UNIQUE INDEX access_requests_pending_key ON access_requests (user_id, smart_account_id)
    WHERE status = 'pending';
CREATE INDEX access_requests_user_idx ON access_requests (user_id, created_at DESC, id DESC);
-- The administrators' "Pending Access Requests".
CREATE INDEX access_requests_account_pending_idx ON access_requests (smart_account_id)
    WHERE status = 'pending';
