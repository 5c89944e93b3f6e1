package account

import (
	"errors"
	"fmt"
	"time"
)

// Errors the stores and services return; the HTTP responder and the CLI map
// them to statuses and messages.
var (
	ErrNotFound           = errors.New("not found")
	ErrConflict           = errors.New("conflict")
	ErrInvalidCredentials = errors.New("invalid email or password")
	ErrEmailRequired      = errors.New("an email address is required")
	ErrEmailTooLong       = fmt.Errorf("an email address has at most %d characters", MaxEmailLength)
	ErrEmailInvalid       = errors.New("not a valid email address")
)

// ThrottledError says sign-in is paused for this account or client.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins; retry in %s", e.RetryAfter.Round(time.Second))
}

// ConflictError names what already exists.
type ConflictError struct{ What string }

func (e *ConflictError) Error() string { return e.What + " already exists" }
func (e *ConflictError) Unwrap() error { return ErrConflict }

// FieldErrors maps a form field to the message key of what is wrong with it.
type FieldErrors map[string]string

func (f FieldErrors) Error() string { return fmt.Sprintf("invalid input: %v", map[string]string(f)) }

// Add records the first problem of a field.
func (f FieldErrors) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err is nil when there is nothing to report.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return f
}
