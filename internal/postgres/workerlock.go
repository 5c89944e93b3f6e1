package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// workerLockSpace is the first key of every worker's advisory lock
// ("CLC"), so that no other advisory lock (tern's, the tests') is mistaken
// for a worker's.
const workerLockSpace = 0x434C43

// liveWorkers selects the ids whose worker lock a session of this database
// holds. A lock taken with two int4 keys shows in pg_locks as classid and
// objid with objsubid 2. Advisory locks are per database, and so is the
// sequence the ids come from: the same id in another database of the
// cluster is another worker.
//
// Every kind of claimed row (emails now, webhook deliveries later) names its
// worker in a claimed_by column and treats a claim as free once its worker
// is not among these.
var liveWorkers = `SELECT objid::bigint AS worker FROM pg_locks
	WHERE locktype = 'advisory' AND classid = ` + strconv.Itoa(workerLockSpace) + ` AND objsubid = 2 AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`

// claimDue is the head of a claim on an outbox-shaped table (state,
// next_attempt_at, locked_until, claimed_by, attempts), as ClaimEmails
// describes it: CTEs ending in claimed, up to $2 rows due at $1 marked
// 'sending' for worker $4 under a lease of $3, each returned whole. The
// statement goes on with a SELECT from claimed. One rule for every kind
// of claimed row, so emails and webhook deliveries cannot drift apart.
func claimDue(table, alias string) string {
	return `
		WITH live AS MATERIALIZED (` + liveWorkers + `
		), due AS (
			SELECT id FROM ` + table + `
			WHERE state IN ('pending', 'sending') AND next_attempt_at <= $1
				AND (state = 'pending' OR locked_until < $1
					OR (claimed_by IS NOT NULL AND claimed_by NOT IN (SELECT worker FROM live)))
				AND ($4 = 0 OR $4 IN (SELECT worker FROM live))
			ORDER BY next_attempt_at
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		), claimed AS (
			UPDATE ` + table + ` ` + alias + ` SET state = 'sending', attempts = ` + alias + `.attempts + 1,
				locked_until = $1::timestamptz + $3::interval, claimed_by = nullif($4, 0)
			FROM due WHERE ` + alias + `.id = due.id
			RETURNING ` + alias + `.*
		)`
}

// ErrLockNotDirect means the worker lock's connection is not a session of
// its own on PostgreSQL (it goes through a pooler), so a lock taken on it
// says nothing about whether the worker lives.
var ErrLockNotDirect = errors.New("the worker lock's connection goes through a pooler")

// WorkerLock is a worker's proof of life: a session-level advisory lock on
// the worker's id, held on a connection used for nothing else. PostgreSQL
// frees it the moment that session ends: the process was killed, its
// machine died (the session's TCP keepalives notice within about 10 s) or
// its connection dropped. Claims made under the id are then free for any
// other worker, without waiting for their lease.
type WorkerLock struct {
	cfg  *pgx.ConnConfig
	pool *pgxpool.Pool // where claims are made: it must see the lock
	log  *slog.Logger

	mu   sync.Mutex
	conn *pgx.Conn
	id   int64
	// pooled is set once the lock's connection proved to be a pooler's:
	// the worker then claims without an id, and the lease alone frees
	// its claims, as before there were locks.
	pooled bool
}

// NewWorkerLock prepares the lock of a worker whose claims go through pool;
// url is a direct connection to the same database (DATABASE_URL, or
// CLC_LOCK_DATABASE_URL when that is a pooler). Nothing connects before
// ID.
func NewWorkerLock(url string, pool *pgxpool.Pool, log *slog.Logger) (*WorkerLock, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse the worker lock's database URL: %w", err)
	}
	return &WorkerLock{cfg: cfg, pool: pool, log: log}, nil
}

// ID is the id the worker claims under now. While the lock's session lives
// it is the same id; once the session is found gone, the claims made under
// it belong to whoever takes them next, and ID takes a new lock under a new
// id. Zero means no lock: the lock's connection is a pooler's (logged once)
// and claims fall back to their lease.
func (l *WorkerLock) ID(ctx context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pooled {
		return 0, nil
	}
	if l.conn != nil {
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := l.conn.Ping(pingCtx)
		cancel()
		if err == nil {
			return l.id, nil
		}
		l.log.Warn("worker lock lost: the claims made under it are free for any worker", "worker_id", l.id, "err", err)
		l.drop()
	}
	id, err := l.take(ctx)
	if errors.Is(err, ErrLockNotDirect) {
		l.pooled = true
		l.log.Warn("worker lock not taken: its connection goes through a pooler, so the emails of a worker that dies wait for their lease (CLC_MAIL_LEASE); "+
			"set CLC_LOCK_DATABASE_URL to a direct connection to the database", "err", err)
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("take the worker lock: %w", err)
	}
	l.log.Info("worker lock held", "worker_id", id)
	return id, nil
}

// take connects and locks a fresh id.
func (l *WorkerLock) take(ctx context.Context) (int64, error) {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return 0, err
	}
	fail := func(err error) (int64, error) {
		conn.Close(context.Background())
		return 0, err
	}
	// A pooler answers the startup with a cancel key of its own, so the
	// process id it gives is not the backend's that runs the statements.
	var backend uint32
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return fail(err)
	}
	if backend != conn.PgConn().PID() {
		return fail(fmt.Errorf("%w: the server process %d is not the one the connection started with (%d)", ErrLockNotDirect, backend, conn.PgConn().PID()))
	}
	// A machine that dies sends no FIN: without keepalives its session, and
	// the lock, would outlive it by the kernel's two hours, longer than the
	// lease the lock is there to beat. Probes after 5 s of silence, 5 of
	// them a second apart, end the session about 10 s after the machine.
	// Set here rather than as startup parameters, which a pooler refuses
	// before the check above could say what is wrong.
	if _, err := conn.Exec(ctx, `SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 5;
		SET application_name = 'clc worker lock'`); err != nil {
		return fail(err)
	}
	var id int64
	for {
		var ok bool
		err := conn.QueryRow(ctx, `SELECT id, pg_try_advisory_lock($1, id::int) FROM nextval('worker_ids') AS id`,
			workerLockSpace).Scan(&id, &ok)
		if err != nil {
			return fail(err)
		}
		if ok {
			break
		}
		// Held: the sequence cycled onto a worker still alive. Next.
	}
	// The claims test the lock through pool's connections: if they cannot
	// see it, every claim of this worker would look abandoned at once.
	var seen bool
	if err := l.pool.QueryRow(ctx, `SELECT EXISTS (`+liveWorkers+` AND objid = $1::bigint::oid)`, id).Scan(&seen); err != nil {
		return fail(err)
	}
	if !seen {
		return fail(errors.New("the database's own connections do not see the lock: CLC_LOCK_DATABASE_URL must name the database DATABASE_URL reaches"))
	}
	l.conn, l.id = conn, id
	return id, nil
}

func (l *WorkerLock) drop() {
	if l.conn != nil {
		l.conn.Close(context.Background())
	}
	l.conn, l.id = nil, 0
}

// Close ends the lock's session, which frees the lock: call it after the
// worker stopped and handed back what it had claimed.
func (l *WorkerLock) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drop()
}
