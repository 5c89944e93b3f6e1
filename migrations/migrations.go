// Package migrations holds the schema as numbered plain SQL files, applied in
// order by tern. A file that has landed is never edited: add a new one.
package migrations

import "embed"

// FS is every migration file.
//
//go:embed *.sql
var FS embed.FS
