package account

import (
	"strings"

	"github.com/trustelem/zxcvbn"
)

// PasswordContextWords are the words of this portal that a password must not
// be made of (ASVS 6.1.2), beside the user's own email address and name.
var PasswordContextWords = []string{
	"cisco", "clc", "license", "licence", "central", "smart", "account", "virtual", "portal", "partner",
}

// minPasswordScore is zxcvbn's score below which a password is refused: 0
// and 1 are fewer than a million guesses, which covers its 30,000 most common
// passwords, keyboard walks, repeats, dates and the context words. It checks
// guessability only: any characters are allowed, none are required.
const minPasswordScore = 2

// guessLimit bounds the part of a password zxcvbn reads: its matching grows
// with the square of the length, and a password that long is long enough.
const guessLimit = 100

// guessable reports whether password is among the common passwords or made
// of the user's own email address or name, or the portal's words. The
// password itself is stored and checked whole; only this estimate reads a
// prefix.
func guessable(password string, u User) bool {
	r := []rune(password)
	if len(r) > guessLimit {
		r = r[:guessLimit]
	}
	inputs := append([]string{u.Email, u.Name}, PasswordContextWords...)
	if local, _, ok := strings.Cut(u.Email, "@"); ok {
		inputs = append(inputs, local)
	}
	inputs = append(inputs, strings.Fields(u.Name)...)
	return zxcvbn.PasswordStrength(string(r), inputs).Score < minPasswordScore
}
