package postgres

import "context"

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
