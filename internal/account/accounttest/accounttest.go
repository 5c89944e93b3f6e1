// Package accounttest holds what tests of other packages need from the
// domain and main must never wire.
package accounttest

import (
	"github.com/alexedwards/argon2id"

	"github.com/clc-portal/clc/internal/account"
)

// Hasher is argon2id at its smallest cost: the code path the portal runs,
// without the 19 MiB and two passes per hash that make guessing expensive.
// Tests create and sign in thousands of users; at the portal's cost each
// hash took 50-230 ms of a shared core.
func Hasher() account.Argon2id {
	return account.Argon2id{Params: &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}}
}
