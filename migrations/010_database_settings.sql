-- The portal's statements are planned once per connection and never JIT
-- compiled (see postgres.Settings for why). Until now each connection asked
-- for that in its startup packet; a pooler in front of the database breaks
-- that: PgBouncer refuses startup parameters it does not know, or, told to
-- ignore them, drops them, and in transaction pooling a SET made by one
-- client stays on a server connection that other clients then use. A
-- database default is what every server connection starts with, whoever
-- opened it, so the settings live here now.
--
-- Only the database's owner (or a superuser) may set its defaults. Without
-- that right this migration warns and changes nothing; `clc serve` then
-- warns at every start, naming the statements to run as the owner.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_generic_plan', current_database());
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'not the owner of database %: plan_cache_mode and jit left as they are', current_database();
END
$$;
