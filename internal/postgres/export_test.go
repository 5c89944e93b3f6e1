package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// What search_test.go, an external test (pgtest imports this package),
// needs to see of search.
var (
	SearchSQL      = searchSQL
	CommonSuffixes = commonSuffixes
	CommonVariants = commonVariants
)

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
