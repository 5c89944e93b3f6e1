package account_test

import (
	"errors"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

func TestMayRenew(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	partner := account.User{ID: 7}
	req := func(st account.RequestStatus, expires time.Time) account.AccountRequest {
		return account.AccountRequest{RequestedBy: 7, Status: st, ExpiresAt: expires}
	}
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	for _, c := range []struct {
		name string
		u    account.User
		r    account.AccountRequest
		want error
	}{
		{"denied", partner, req(account.RequestDenied, later), nil},
		{"expired", partner, req(account.RequestExpired, earlier), nil},
		{"withdrawn", partner, req(account.RequestWithdrawn, later), nil},
		{"pending past expiry, before the job", partner, req(account.RequestPending, earlier), nil},
		{"pending", partner, req(account.RequestPending, later), account.ErrNotRenewable},
		{"approved", partner, req(account.RequestApproved, later), account.ErrNotRenewable},
		{"another partner", account.User{ID: 8}, req(account.RequestDenied, later), account.ErrNotFound},
		{"staff", account.User{ID: 9, Staff: true}, req(account.RequestDenied, later), account.ErrNotFound},
		{"nobody", account.User{}, account.AccountRequest{Status: account.RequestDenied}, account.ErrNotFound},
	} {
		if got := account.MayRenew(c.u, c.r, now); !errors.Is(got, c.want) || (c.want == nil && got != nil) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
