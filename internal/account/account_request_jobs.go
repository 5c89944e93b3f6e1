package account

import (
	"context"
	"fmt"
	"slices"
	"time"
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

// The follow-through of a request nobody answers: its approvers are
// reminded before it expires (each reminder with a new link), the partner
// is told when no approver has opened the page a week after it went, and
// operators see it flagged when still nobody has two weeks after. Each step
// happens once per request, whichever process gets there (the store keeps a
// row per step done, keyed by request and step).
const (
	// NotOpenedAfter is when the partner is told nobody opened the page.
	NotOpenedAfter = 7 * 24 * time.Hour
	// NoResponseAfter is when operators see the request flagged.
	NoResponseAfter = 14 * 24 * time.Hour
	// Steps of the follow-through besides the reminders.
	StepNotOpened  = "not_opened"
	StepNoResponse = "no_response"
)

// DefaultReminderDays are how many days before expiry approvers are
// reminded.
var DefaultReminderDays = []int{30, 7, 1}

// SetReminderDays sets how many days before expiry approvers are reminded;
// none keeps DefaultReminderDays.
func (s *AccountRequests) SetReminderDays(days []int) { s.reminderDays = slices.Clone(days) }

// reminderSteps are the reminders, the one due last (the shortest lead)
// first: a request that reaches several at once (a job that did not run
// for a while) gets only the one nearest to expiry, which stands for the
// others.
func (s *AccountRequests) reminderSteps() []int {
	days := s.reminderDays
	if len(days) == 0 {
		days = DefaultReminderDays
	}
	days = slices.Clone(days)
	slices.Sort(days)
	return slices.Compact(days)
}

// ReminderStep names the reminder sent days before expiry.
func ReminderStep(days int) string { return fmt.Sprintf("reminder_%dd", days) }

// RemindApprovers reminds every approver whose link still works, at each of
// the reminder days before expiry, once each. A reminder carries a new
// link: the first token was never stored in clear and its email's copy was
// erased once sent, so the old link is replaced and then says so.
func (s *AccountRequests) RemindApprovers(ctx context.Context) (int, error) {
	remind := func(r AccountRequest, live []ApprovalLink) Reminder {
		var rem Reminder
		for _, l := range live {
			link, mail := newApprovalLink(r, l.Email)
			mail.Kind = EmailApprovalReminder
			rem.Tokens = append(rem.Tokens, RotatedToken{LinkID: l.ID, TokenHash: link.TokenHash})
			rem.Emails = append(rem.Emails, mail)
		}
		return rem
	}
	steps := s.reminderSteps()
	total := 0
	for i, days := range steps {
		// This reminder also stands for every earlier one not yet sent.
		var covers []string
		for _, d := range steps[i:] {
			covers = append(covers, ReminderStep(d))
		}
		n, err := s.runJob(ctx, "remind approvers", func() (bool, error) {
			now := s.clock.Now()
			return s.store.RemindNext(ctx, now, now.Add(time.Duration(days)*24*time.Hour), covers, remind)
		})
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// NotifyNotOpened tells the partner of each request whose approvers have
// not opened its page NotOpenedAfter it went, once: the email leads to the
// request's page, where they resend the email or change the approvers.
func (s *AccountRequests) NotifyNotOpened(ctx context.Context) (int, error) {
	notify := func(r AccountRequest, live []ApprovalLink) Email {
		data := requestEmailData(r)
		for _, l := range live {
			data.Approvers = append(data.Approvers, l.Email)
		}
		return Email{Kind: EmailApproversNotOpened, To: r.Requester, AccountID: r.Account.ID, Data: data}
	}
	return s.runJob(ctx, "tell partners nobody opened", func() (bool, error) {
		now := s.clock.Now()
		return s.store.NotOpenedNext(ctx, now, now.Add(-NotOpenedAfter), StepNotOpened, notify)
	})
}

// FlagNoResponse flags for operators each request whose approvers have not
// opened its page NoResponseAfter it went, once; the history records it.
func (s *AccountRequests) FlagNoResponse(ctx context.Context) (int, error) {
	return s.runJob(ctx, "flag requests with no response", func() (bool, error) {
		now := s.clock.Now()
		return s.store.NotOpenedNext(ctx, now, now.Add(-NoResponseAfter), StepNoResponse, nil)
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
