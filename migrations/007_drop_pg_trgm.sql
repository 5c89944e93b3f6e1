-- Search reads search_suffixes (005) and no longer any trigram index, so
-- the extension 004 installed is unused.
DROP EXTENSION IF EXISTS pg_trgm;
