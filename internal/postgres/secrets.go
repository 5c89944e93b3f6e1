package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ServerSecret is the secret stored under name, made of n random bytes by
// the first process to ask: processes starting together all read the one
// that was stored first.
func (s *Store) ServerSecret(ctx context.Context, name string, n int) ([]byte, error) {
	fresh := make([]byte, n)
	_, _ = rand.Read(fresh) // crypto/rand.Read never fails
	var secret []byte
	// Twice at most: an insert that waited on another process's finds no
	// row, that row having been committed after this statement's snapshot;
	// the next statement sees it.
	for range 2 {
		err := s.pool.QueryRow(ctx, `
			WITH made AS (
				INSERT INTO server_secrets (name, value) VALUES ($1, $2)
				ON CONFLICT (name) DO NOTHING RETURNING value
			)
			SELECT value FROM made UNION ALL SELECT value FROM server_secrets WHERE name = $1`, name, fresh).Scan(&secret)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("server secret %s: %w", name, err)
		}
		return secret, nil
	}
	return nil, fmt.Errorf("server secret %s: neither made nor found", name)
}
