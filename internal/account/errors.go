package account

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors the stores and services return; the HTTP responder and the CLI map
// them to statuses and messages.
var (
	ErrNotFound           = errors.New("not found")
	ErrConflict           = errors.New("conflict")
	ErrForbidden          = errors.New("forbidden")
	ErrInvalidCredentials = errors.New("invalid email or password")
	ErrEmailRequired      = errors.New("an email address is required")
	ErrEmailTooLong       = fmt.Errorf("an email address has at most %d characters", MaxEmailLength)
	ErrEmailInvalid       = errors.New("not a valid email address")
	// ErrClaimLost means a worker's lease on an email ran out and another
	// worker claimed it: the first records nothing.
	ErrClaimLost = errors.New("the email was claimed by another worker")
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

// FieldError is what is wrong with one form field: a message id, its
// template data as key/value pairs, and optionally a way on that the message
// offers (the view links it; the domain writes no path).
type FieldError struct {
	Msg   string
	Args  []any
	Offer Offer
	// Account is the account Offer is about, for OfferRequestAccess.
	Account AccountID
}

// Offer is a way on that a field's message proposes.
type Offer string

const (
	OfferNone          Offer = ""
	OfferSearch        Offer = "search"         // search the Smart Accounts
	OfferRequestAccess Offer = "request_access" // request access to FieldError.Account
)

// FieldErrors maps a form field to what is wrong with it.
type FieldErrors map[string]FieldError

func (f FieldErrors) Error() string {
	var b strings.Builder
	b.WriteString("invalid input:")
	for k, v := range f {
		fmt.Fprintf(&b, " %s=%s", k, v.Msg)
	}
	return b.String()
}

// Add records the first problem of a field.
func (f FieldErrors) Add(field, msg string, args ...any) {
	if _, ok := f[field]; !ok {
		f[field] = FieldError{Msg: msg, Args: args}
	}
}

// Err is nil when there is nothing to report.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return f
}
