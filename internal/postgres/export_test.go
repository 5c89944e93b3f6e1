package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// What search_test.go, an external test (pgtest imports this package),
// needs to see of search.
var (
	SearchStartsSQL = searchStartsSQL
	SearchRareSQL   = searchRareSQL
	SearchCommonSQL = searchCommonSQL
	LastCodePoint   = lastCodePoint
	LikeEscape      = likeEscape
)

// CommonWord reports whether the store's sample calls word common.
func (s *Store) CommonWord(ctx context.Context, pool *pgxpool.Pool, word string) (bool, error) {
	return s.words.common(ctx, pool, word)
}

// TrigramWord is trigramWord over the words of folded.
func TrigramWord(folded string) (string, bool) { return trigramWord(words(folded)) }
