-- A worker holds a session-level advisory lock on its own id for as long as
-- it runs, on a connection of its own, and every claim records that id: a
-- claim whose worker's lock is free (its process died, its connection
-- dropped) is due again at once, instead of after its lease. The ids come
-- from one sequence so no two live workers share one; they fit the second
-- key of pg_try_advisory_lock(int, int), and reuse after the cycle is
-- harmless, since a lock already held is skipped.
CREATE SEQUENCE worker_ids AS integer MINVALUE 1 CYCLE;

-- The worker whose claim holds the email; NULL when it is not in 'sending',
-- or when its claimer took no lock (a worker behind a pooler without a
-- direct connection for it, or an older binary): then the lease alone hands
-- it back.
ALTER TABLE outbox ADD COLUMN claimed_by integer;
