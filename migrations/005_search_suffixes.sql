-- Search finds a query inside names and domains through the suffixes of their
-- words, kept in a btree, instead of the trigram index of 004.
--
-- Measured at 1,000,000 accounts (bench/search's 400 queries, one connection):
-- the trigram index answered "the query somewhere in a name or domain" in
-- 1.6 to 2.4 ms a query, because the trigrams of company names are common and
-- each lookup decodes long posting lists. Text contains the query exactly when
-- one of its words has a suffix that begins with the query's word, and the
-- suffixes that begin with a word are one range of a btree, read in a few
-- pages. The price is room: 14 suffixes an account, 1.2 GB of rows and 1.1 GB
-- of key at a million accounts. Full-text search finds whole words and their
-- beginnings only, and search must find "uerich" in "zuerich-versicherung".

-- A word is a run of anything but white space and punctuation, in the folded
-- name and in the domain. Suffixes shorter than three characters are left out:
-- search needs three characters to search at all.
CREATE FUNCTION clc_suffixes(name_folded text, domain text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 16
BEGIN ATOMIC
    SELECT DISTINCT substr(w, i)
    FROM unnest(regexp_split_to_array(name_folded || ' ' || domain, '[[:space:][:punct:]]+')) w,
        generate_series(1, length(w) - 2) i;
END;

-- The accounts search may find by part of their name or domain: live and not
-- restricted (a restricted account is found by its entire name or domain
-- alone, through the indexes of smart_accounts).
CREATE FUNCTION clc_found_by_part(status text, restricted boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN status IN ('active', 'pending') AND NOT restricted;

-- The suffixes of those accounts' words. The key orders each suffix's
-- accounts by name and carries the domain, so that a search reads this index
-- alone.
CREATE TABLE search_suffixes (
    suffix           text COLLATE "C" NOT NULL,
    name_folded      text COLLATE "C" NOT NULL,
    smart_account_id bigint NOT NULL,
    domain           text NOT NULL
);

CREATE FUNCTION search_suffixes_add() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_suffixes (suffix, name_folded, smart_account_id, domain)
    SELECT s, a.name_folded, a.id, a.domain
    FROM added a, clc_suffixes(a.name_folded, a.domain) s
    WHERE clc_found_by_part(a.status, a.restricted);
    RETURN NULL;
END $$;

CREATE FUNCTION search_suffixes_remove() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    -- By the full key, so that the primary key finds each row.
    DELETE FROM search_suffixes x
    USING (SELECT s, r.name_folded, r.id FROM removed r, clc_suffixes(r.name_folded, r.domain) s
        WHERE clc_found_by_part(r.status, r.restricted)) d (suffix, name_folded, id)
    WHERE x.suffix = d.suffix AND x.name_folded = d.name_folded AND x.smart_account_id = d.id;
    RETURN NULL;
END $$;

-- An update changes the suffixes only when it changes the name, the domain,
-- or whether search may find the account: most updates (a status going from
-- pending to active, a new updated_at) change none, and cost one join of the
-- transition tables.
CREATE FUNCTION search_suffixes_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    changed bigint[];
BEGIN
    SELECT array_agg(n.id) INTO changed
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE (o.name_folded, o.domain, clc_found_by_part(o.status, o.restricted))
        IS DISTINCT FROM (n.name_folded, n.domain, clc_found_by_part(n.status, n.restricted));
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    DELETE FROM search_suffixes x
    USING (SELECT s, o.name_folded, o.id
        FROM old_rows o JOIN unnest(changed) c (id) ON c.id = o.id, clc_suffixes(o.name_folded, o.domain) s
        WHERE clc_found_by_part(o.status, o.restricted)) d (suffix, name_folded, id)
    WHERE x.suffix = d.suffix AND x.name_folded = d.name_folded AND x.smart_account_id = d.id;
    INSERT INTO search_suffixes (suffix, name_folded, smart_account_id, domain)
    SELECT s, n.name_folded, n.id, n.domain
    FROM new_rows n JOIN unnest(changed) c (id) ON c.id = n.id, clc_suffixes(n.name_folded, n.domain) s
    WHERE clc_found_by_part(n.status, n.restricted);
    RETURN NULL;
END $$;

-- Statement triggers with transition tables: a bulk load of a million
-- accounts adds their suffixes in one statement, not a million.
CREATE TRIGGER search_suffixes_insert AFTER INSERT ON smart_accounts
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION search_suffixes_add();
CREATE TRIGGER search_suffixes_update AFTER UPDATE ON smart_accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_suffixes_change();
CREATE TRIGGER search_suffixes_delete AFTER DELETE ON smart_accounts
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION search_suffixes_remove();

INSERT INTO search_suffixes (suffix, name_folded, smart_account_id, domain)
SELECT s, a.name_folded, a.id, a.domain
FROM smart_accounts a, clc_suffixes(a.name_folded, a.domain) s
WHERE clc_found_by_part(a.status, a.restricted);
-- The key after the rows: built at once, it is sorted rather than grown.
ALTER TABLE search_suffixes ADD PRIMARY KEY (suffix, name_folded, smart_account_id) INCLUDE (domain);

-- The trigram index served only search.
DROP INDEX smart_accounts_search_trgm_idx;
