package account

import "github.com/alexedwards/argon2id"

// Argon2id hashes passwords with OWASP's recommended argon2id parameters
// (m=19 MiB, t=2, p=1).
type Argon2id struct{ Params *argon2id.Params }

// NewArgon2id returns the production hasher.
func NewArgon2id() Argon2id {
	return Argon2id{Params: &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}}
}

func (a Argon2id) Hash(password string) (string, error) {
	return argon2id.CreateHash(password, a.Params)
}

func (a Argon2id) Verify(password, hash string) (bool, error) {
	return argon2id.ComparePasswordAndHash(password, hash)
}
