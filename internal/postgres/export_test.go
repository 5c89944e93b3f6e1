package postgres

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
)

// What search_test.go, an external test (pgtest imports this package),
// needs to see of search.
var (
	SearchSQL      = searchSQL
	CommonSuffixes = commonSuffixes
	CommonVariants = commonVariants
)

// ClaimEmailsSQL is the statement that claims due emails: $1 now, $2
// limit, $3 lease, $4 worker.
var ClaimEmailsSQL = claimEmailsSQL

// SectionSQL is the statement that lists a page of a directory section,
// and its arguments.
func SectionSQL(q account.SectionQuery) (string, []any) {
	sql, args, _, _ := sectionSQL(q)
	return sql, args
}

// OpenReplicaEvery is OpenReplica checking every every, with maxLag for MaxLag.
var OpenReplicaEvery = openReplica

// ReadsReplica says whether a read in ctx would go to the replica.
func (s *Store) ReadsReplica(ctx context.Context) bool {
	_, ok := s.reader(ctx).(replicaReads)
	return ok
}

// MigrateTo applies the migrations up to version v, so a test can put rows
// in an older schema and see a later migration carry them over.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, v int32) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	m, err := newMigrator(ctx, conn.Conn())
	if err != nil {
		return err
	}
	return m.MigrateTo(ctx, v)
}

// DeadReplica is a replica beside primary that has gone away since its last
// check, which found it answering: the next read learns it is gone.
func DeadReplica(primary *pgxpool.Pool, log *slog.Logger) (*Replica, error) {
	// Nothing listens on port 1 of this machine.
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	if err != nil {
		return nil, err
	}
	return &Replica{pool: pool, primary: primary, log: log, up: true, stop: func() {}, done: closed()}, nil
}

func closed() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// EventSQL is the statement that reads a page or an export of the Event
// Log, and its arguments.
func EventSQL(q account.EventQuery) (string, []any) { return eventQuery(q) }
