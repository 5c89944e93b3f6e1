package account

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// A request that ended without an account (denied, expired or withdrawn)
// can be sent again: "Request again" fills the form with what it carried,
// and the new request goes through every rule as any other; its history and
// the old one's name each other.

// ErrNotRenewable: the request is still pending, or it was approved.
var ErrNotRenewable = fmt.Errorf("only a denied, expired or withdrawn request can be sent again: %w", ErrConflict)

// Renewable reports whether r, at now, ended without an account.
func (r AccountRequest) Renewable(now time.Time) bool {
	switch r.StatusAt(now) {
	case RequestDenied, RequestExpired, RequestWithdrawn:
		return true
	}
	return false
}

// MayRenew is who may send a request again: only the partner who sent it,
// and only once it ended without an account. To anyone else the request
// does not exist (ErrNotFound), so its id cannot be probed for; staff and
// the account's administrators see it but did not ask for it.
func MayRenew(u User, r AccountRequest, now time.Time) error {
	if u.ID == 0 || u.ID != r.RequestedBy {
		return ErrNotFound
	}
	if !r.Renewable(now) {
		return ErrNotRenewable
	}
	return nil
}

// RenewalInput is the form filled with what r carried.
func RenewalInput(r AccountRequest) AccountRequestInput {
	return AccountRequestInput{
		Name:             r.Account.Name,
		Domain:           r.DomainAsTyped,
		NoteToApprover:   r.NoteToApprover,
		CustomerEmails:   strings.Join(r.CustomerEmails, "\n"),
		CustomerLanguage: r.CustomerLanguage,
		NoteToCustomer:   r.NoteToCustomer,
		UserEmails:       strings.Join(r.UserEmails, "\n"),
		NoteToUsers:      r.NoteToUsers,
	}
}

// Renewal is the request for account id that u may send again, with the
// form it fills.
func (s *AccountRequests) Renewal(ctx context.Context, u User, id AccountID) (AccountRequest, AccountRequestInput, error) {
	r, err := s.renewable(ctx, u, id)
	if err != nil {
		return AccountRequest{}, AccountRequestInput{}, err
	}
	return r, RenewalInput(r), nil
}

func (s *AccountRequests) renewable(ctx context.Context, u User, id AccountID) (AccountRequest, error) {
	r, err := s.store.RequestByAccount(ctx, id)
	if err != nil {
		return AccountRequest{}, fmt.Errorf("request for %s: %w", id, err)
	}
	if err := MayRenew(u, r, s.clock.Now()); err != nil {
		return AccountRequest{}, fmt.Errorf("renew request for %s: %w", id, err)
	}
	return r, nil
}

// SubmitRenewal is SubmitRequest for a request that sends the one for
// account old again: the same checks, and the rule that u may renew it.
func (s *AccountRequests) SubmitRenewal(ctx context.Context, u User, old AccountID, in AccountRequestInput) (AccountRequest, error) {
	if _, err := s.renewable(ctx, u, old); err != nil {
		return AccountRequest{}, err
	}
	return s.submit(ctx, u, in, nil, old)
}
