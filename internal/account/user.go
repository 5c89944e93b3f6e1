package account

import (
	"net/mail"
	"strings"
	"time"
)

// User is a person who signs in.
type User struct {
	ID           int64
	Email        string // lowercase
	Name         string
	PasswordHash string // "" until a password is set
	Staff        bool
	Language     string // the user's choice; "" means follow the browser
	CreatedAt    time.Time
}

// MaxEmailLength bounds an address (RFC 5321's path limit).
const MaxEmailLength = 254

// NormalizeEmail parses one bare address ("a@b.example", not "Name <a@b>")
// and returns it lowercased.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrEmailRequired
	}
	if len(s) > MaxEmailLength {
		return "", ErrEmailTooLong
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", ErrEmailInvalid
	}
	at := strings.LastIndexByte(s, '@')
	if _, err := NormalizeDomain(s[at+1:]); err != nil {
		return "", ErrEmailInvalid
	}
	return strings.ToLower(s), nil
}

// EmailDomain is the part of a normalized address after the @.
func EmailDomain(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}
