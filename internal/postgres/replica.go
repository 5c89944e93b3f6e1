package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Replica sends the reads that may lag the primary by a moment (search and
// the directory, see Store.reader) to a streaming replica, and keeps them on
// the primary when the replica is down, is more than MaxLag behind, or has
// not yet replayed what the browser asking wrote (read your writes: see
// Mark and Since).
type Replica struct {
	pool, primary *pgxpool.Pool
	log           *slog.Logger
	every, maxLag time.Duration
	stop          context.CancelFunc
	done          chan struct{}

	mu       sync.Mutex
	up       bool
	why      string // why the replica is not used, for the log
	replayed lsn
	samples  []sample // the primary's WAL position over the last MaxLag
}

// lsn is a position in the WAL, as pg_lsn's text X/Y reads.
type lsn uint64

func parseLSN(s string) (lsn, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("not a WAL position: %q", s)
	}
	return lsn(h<<32 | l), nil
}

func (l lsn) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xffffffff) }

type sample struct {
	at  time.Time
	pos lsn
}

const (
	// MaxLag is how far behind the primary a replica may be and still
	// answer: reads that do not follow the reader's own writes may be this
	// old at most.
	MaxLag = 10 * time.Second
	// replicaCheck is how often the replica's health and position are
	// read, and so how soon after coming back it answers again.
	replicaCheck = time.Second
)

// OpenReplica connects to the replica at url beside primary and checks it
// every second until Close. A replica that cannot be reached yet is no
// error: reads stay on the primary until it answers.
func OpenReplica(ctx context.Context, url string, primary *pgxpool.Pool, log *slog.Logger) (*Replica, error) {
	return openReplica(ctx, url, primary, log, replicaCheck, MaxLag)
}

func openReplica(ctx context.Context, url string, primary *pgxpool.Pool, log *slog.Logger, every, maxLag time.Duration) (*Replica, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_REPLICA_URL: %w", err)
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	// A replica that hangs must not hold a page up: the primary answers.
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 2*time.Second {
		cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r := &Replica{pool: pool, primary: primary, log: log, every: every, maxLag: maxLag, stop: stop, done: make(chan struct{})}
	r.check(ctx)
	if !r.up {
		r.log.Warn("replica not used: reads go to the primary", "why", r.why)
	}
	go r.run(runCtx)
	return r, nil
}

// Close stops the checks and the replica's pool.
func (r *Replica) Close() {
	r.stop()
	<-r.done
	r.pool.Close()
}

func (r *Replica) run(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.check(ctx)
		}
	}
}

// check reads where the primary and the replica are, and decides whether
// the replica may answer.
func (r *Replica) check(ctx context.Context) {
	// Generous: a slow check holds up no page, only the next check.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	now := time.Now()
	var p string
	primaryErr := r.primary.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&p)
	var replayed *string
	err := r.pool.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn()::text`).Scan(&replayed)
	switch {
	case err != nil:
		r.gone("unreachable: " + err.Error())
		return
	case replayed == nil:
		// Promoted, or never a standby: it no longer follows the primary.
		r.set(false, 0, "not a standby")
		return
	}
	pos, err := parseLSN(*replayed)
	if err != nil {
		r.set(false, 0, err.Error())
		return
	}
	r.mu.Lock()
	if primaryErr == nil {
		if at, err := parseLSN(p); err == nil {
			r.samples = append(r.samples, sample{now, at})
		}
	}
	// The newest sample at least maxLag old is what the replica must have
	// replayed by now; older ones are not needed any more.
	var due lsn
	for len(r.samples) > 0 && now.Sub(r.samples[0].at) >= r.maxLag {
		due = r.samples[0].pos
		if len(r.samples) == 1 || now.Sub(r.samples[1].at) < r.maxLag {
			break
		}
		r.samples = r.samples[1:]
	}
	r.mu.Unlock()
	if pos < due {
		r.set(false, pos, fmt.Sprintf("more than %s behind (replayed %s, the primary was at %s)", r.maxLag, pos, due))
		return
	}
	r.set(true, pos, "")
}

// set records the replica's state, logging each change once.
func (r *Replica) set(up bool, replayed lsn, why string) {
	r.mu.Lock()
	changed := r.up != up
	r.up, r.why = up, why
	if replayed > r.replayed || !up {
		r.replayed = replayed
	}
	r.mu.Unlock()
	switch {
	case changed && up:
		r.log.Info("replica answers reads")
	case changed:
		r.log.Warn("replica not used: reads go to the primary", "why", why)
	}
}

// gone records that the replica could not be reached. Its pool's idle
// connections are dead too; without them the next check connects afresh.
func (r *Replica) gone(why string) {
	r.set(false, 0, why)
	r.pool.Reset()
}

// Mark is the primary's WAL position now: once the replica has replayed it,
// it holds every write committed before the call.
func (r *Replica) Mark(ctx context.Context) (string, error) {
	var at string
	if err := r.primary.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&at); err != nil {
		return "", fmt.Errorf("mark writes: %w", err)
	}
	return at, nil
}

type sinceKey struct{}

// Since returns ctx whose reads see at least what the primary held at mark
// (from Mark); a mark that does not parse is ignored.
func (r *Replica) Since(ctx context.Context, mark string) context.Context {
	at, err := parseLSN(mark)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, sinceKey{}, at)
}

// reader is the replica when it may answer a read in ctx, else the primary.
func (r *Replica) reader(ctx context.Context) querier {
	need, _ := ctx.Value(sinceKey{}).(lsn)
	r.mu.Lock()
	up, replayed := r.up, r.replayed
	r.mu.Unlock()
	if !up {
		return r.primary
	}
	if need > replayed {
		// This reader wrote since the last check: ask the replica where it
		// is now, since it is usually a few milliseconds behind at most.
		var at *string
		if err := r.pool.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn()::text`).Scan(&at); err != nil || at == nil {
			return r.primary
		}
		pos, err := parseLSN(*at)
		if err != nil || pos < need {
			return r.primary
		}
		r.mu.Lock()
		if pos > r.replayed {
			r.replayed = pos
		}
		r.mu.Unlock()
	}
	return replicaReads{r}
}

// lost reports whether err means the replica could not answer (down,
// starting, shutting down, unreachable), rather than that the statement
// failed; the read is then asked of the primary.
func (r *Replica) lost(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "40001": // canceled by a conflict with recovery: only retry
			return true
		case strings.HasPrefix(pe.Code, "57"), strings.HasPrefix(pe.Code, "08"):
		default:
			return false
		}
	}
	r.gone("a read failed: " + err.Error())
	return true
}

// replicaReads reads from the replica and, when it cannot answer, from the
// primary, so a replica that goes away costs a page nothing.
type replicaReads struct{ r *Replica }

func (q replicaReads) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := q.r.pool.Query(ctx, sql, args...)
	if q.r.lost(ctx, err) {
		return q.r.primary.Query(ctx, sql, args...)
	}
	if err != nil {
		return rows, err
	}
	return &replicaRows{Rows: rows, r: q.r, ctx: ctx, sql: sql, args: args}, nil
}

// replicaRows asks the primary when the replica fails before the first row:
// a pooled connection the replica closed while idle says so only then.
type replicaRows struct {
	pgx.Rows
	r        *Replica
	ctx      context.Context
	sql      string
	args     []any
	read     bool // a row came, so the answer is the replica's
	switched bool
	err      error // the primary's, when it did not answer either
}

func (rs *replicaRows) Next() bool {
	if rs.err != nil {
		return false
	}
	if rs.Rows.Next() {
		rs.read = true
		return true
	}
	if rs.read || rs.switched || !rs.r.lost(rs.ctx, rs.Rows.Err()) {
		return false
	}
	rs.switched = true
	rs.Rows.Close()
	rows, err := rs.r.primary.Query(rs.ctx, rs.sql, rs.args...)
	if err != nil {
		rs.err = err
		return false
	}
	rs.Rows = rows
	return rs.Next()
}

func (rs *replicaRows) Err() error {
	if rs.err != nil {
		return rs.err
	}
	return rs.Rows.Err()
}

func (q replicaReads) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return replicaRow{q.r, ctx, sql, args}
}

// SendBatch sends b to the replica, on one of its connections. A batch's
// answers are read through its queued callbacks when Close runs: if the
// replica cannot answer then, a copy of b goes to the primary and each
// callback runs again on the primary's rows, so a callback must set what it
// reads rather than add to it. Results read through the BatchResults'
// own Exec, Query or QueryRow are the replica's, without that fall-back.
func (q replicaReads) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return &replicaBatch{BatchResults: q.r.pool.SendBatch(ctx, b), r: q.r, ctx: ctx, b: b}
}

type replicaBatch struct {
	pgx.BatchResults
	r   *Replica
	ctx context.Context
	b   *pgx.Batch
}

func (rb *replicaBatch) Close() error {
	err := rb.BatchResults.Close()
	if !rb.r.lost(rb.ctx, err) {
		return err
	}
	// Sending b kept the replica connection's prepared statements in it,
	// which the primary's connection lacks: the primary gets the same
	// statements and callbacks in a batch of their own.
	again := &pgx.Batch{}
	for _, qq := range rb.b.QueuedQueries {
		again.Queue(qq.SQL, qq.Arguments...).Fn = qq.Fn
	}
	return rb.r.primary.SendBatch(rb.ctx, again).Close()
}

// Exec is never a read: it goes to the primary.
func (q replicaReads) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return q.r.primary.Exec(ctx, sql, args...)
}

type replicaRow struct {
	r    *Replica
	ctx  context.Context
	sql  string
	args []any
}

func (row replicaRow) Scan(dest ...any) error {
	err := row.r.pool.QueryRow(row.ctx, row.sql, row.args...).Scan(dest...)
	if row.r.lost(row.ctx, err) {
		return row.r.primary.QueryRow(row.ctx, row.sql, row.args...).Scan(dest...)
	}
	return err
}
