package account

import (
	"context"
	"fmt"
)

// The periodic work on requests, which internal/jobs runs from every serving
// and worker process: the store claims each request with SKIP LOCKED, so
// processes share the work and none does it twice.

// ExpireRequests ends the requests nobody decided on in time: each account
// becomes expired, which frees its domain, and every customer who held a
// link and the partner are told. It returns how many it expired.
func (s *AccountRequests) ExpireRequests(ctx context.Context) (int, error) {
	expire := func(r AccountRequest, links []ApprovalLink) []Email {
		data := requestEmailData(r)
		seen := map[string]bool{}
		var emails []Email
		for _, l := range links {
			if !seen[l.Email] {
				seen[l.Email] = true
				emails = append(emails, Email{Kind: EmailRequestExpired, To: l.Email, Lang: r.CustomerLanguage, AccountID: r.Account.ID, Data: data})
			}
		}
		return append(emails, Email{Kind: EmailRequestExpired, To: r.Requester, AccountID: r.Account.ID, Data: data})
	}
	return s.runJob(ctx, "expire requests", func() (bool, error) {
		return s.store.ExpireNext(ctx, s.clock.Now(), expire)
	})
}

// RemindApprovers reminds, once and ReminderLead before expiry, every
// approver whose link still works. The reminder carries a new link: the
// first token was never stored in clear and its email's copy was erased once
// sent, so the old link is replaced and then says so.
func (s *AccountRequests) RemindApprovers(ctx context.Context) (int, error) {
	remind := func(r AccountRequest, live []ApprovalLink) Reminder {
		var rem Reminder
		for _, l := range live {
			token := randomToken(tokenBytes)
			data := requestEmailData(r)
			data.Note = r.NoteToCustomer
			rem.Tokens = append(rem.Tokens, RotatedToken{LinkID: l.ID, TokenHash: HashToken(token)})
			rem.Emails = append(rem.Emails, Email{Kind: EmailApprovalReminder, To: l.Email, Lang: r.CustomerLanguage, AccountID: r.Account.ID, Secret: token, Data: data})
		}
		return rem
	}
	return s.runJob(ctx, "remind approvers", func() (bool, error) {
		now := s.clock.Now()
		return s.store.RemindNext(ctx, now, now.Add(ReminderLead), remind)
	})
}

// runJob repeats one step of a job until nothing is due, up to jobBatch.
func (s *AccountRequests) runJob(ctx context.Context, name string, step func() (bool, error)) (int, error) {
	n := 0
	for n < jobBatch {
		ok, err := step()
		if err != nil {
			return n, fmt.Errorf("%s: %w", name, err)
		}
		if !ok {
			break
		}
		n++
	}
	return n, nil
}
