package account

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Event Log: who did what, when and from where, on one Smart Account
// (its administrators), on one account request (whoever may see the
// request), and across the portal (operators).

// EventLogPageSize is how many events one page of the log shows.
const EventLogPageSize = 50

// MaxEventActorLength bounds the actor filter: an email address at most.
const MaxEventActorLength = MaxEmailLength

// EventLogView is which log is asked for.
type EventLogView int

const (
	AccountEventLog EventLogView = iota + 1 // one Smart Account's, for its administrators
	RequestEventLog                         // one account request's, for whoever may see it
	PortalEventLog                          // every event, for operators
)

// EventFilter narrows a log. From and To are days (UTC), both included;
// zero is open. Kind and Actor match exactly; "" is any.
type EventFilter struct {
	From, To time.Time
	Kind     string
	Actor    string
}

// EventCursor is where a page of the newest-first log continues: after the
// event at At with ID. The zero cursor is the newest event.
type EventCursor struct {
	At time.Time
	ID int64
}

// String is the cursor as a URL or API carries it.
func (c EventCursor) String() string {
	if c.ID == 0 {
		return ""
	}
	return strconv.FormatInt(c.At.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ParseEventCursor reads a cursor String wrote; "" is the first page.
func ParseEventCursor(s string) (EventCursor, error) {
	if s == "" {
		return EventCursor{}, nil
	}
	at, id, ok := strings.Cut(s, ".")
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return EventCursor{}, FieldErrors{"cursor": {Msg: "eventlog.error.cursor"}}
	}
	return EventCursor{At: time.UnixMicro(us).UTC(), ID: n}, nil
}

// EventQuery is what the store reads: one view's events, filtered, after a
// cursor, newest first. Account 0 is every account's and none's; Kinds, when
// set, are the only kinds the viewer may see.
type EventQuery struct {
	Account AccountID
	Kinds   []string
	Filter  EventFilter
	After   EventCursor
	Limit   int
}

// EventLogStore is what the Event Log needs from persistence.
type EventLogStore interface {
	RequestByAccount(ctx context.Context, id AccountID) (AccountRequest, error)
	// AccountFor is the account with how the viewer relates to it.
	relationReader
	// Events reads one page of q.
	Events(ctx context.Context, q EventQuery) ([]Event, error)
}

// EventLog is reading the Event Log.
type EventLog struct {
	store EventLogStore
}

// NewEventLog wires the Event Log.
func NewEventLog(store EventLogStore) *EventLog { return &EventLog{store: store} }

// EventScope is a log that a viewer was allowed: only Scope makes one, so
// no page or export reads events it did not decide on.
type EventScope struct {
	q          EventQuery
	showClient bool
}

// ShowClient reports whether the viewer sees where changes came from: staff only.
func (s EventScope) ShowClient() bool { return s.showClient }

// Scope decides whether u may read view's log (of account id, for the first
// two): an account's log is its administrators'; a request's is the partner
// who sent it and the account's administrators' (the partner sees only the
// request's own events, as on its status page); the portal's is staff's.
// What u may not see answers ErrNotFound, so ids cannot be probed.
func (l *EventLog) Scope(ctx context.Context, u User, view EventLogView, id AccountID) (EventScope, error) {
	sc := EventScope{showClient: u.Staff}
	switch view {
	case PortalEventLog:
		if !u.Staff {
			return EventScope{}, ErrForbidden
		}
		return sc, nil
	case AccountEventLog, RequestEventLog:
	default:
		return EventScope{}, ErrNotFound
	}
	sc.q.Account = id
	if view == AccountEventLog {
		// The account and how u relates to it, in one read.
		_, rel, err := accountRelation(ctx, l.store, u, id)
		if err != nil {
			return EventScope{}, err
		}
		if !MayReadAccountLog(u, rel) {
			return EventScope{}, ErrNotFound
		}
		return sc, nil
	}
	r, err := l.store.RequestByAccount(ctx, id)
	if err != nil {
		return EventScope{}, fmt.Errorf("request for %s: %w", id, err)
	}
	var rel Relation
	if !u.Staff {
		if rel, err = relationTo(ctx, l.store, u, id); err != nil {
			return EventScope{}, err
		}
	}
	if !MaySeeRequest(u, r, rel) {
		return EventScope{}, ErrNotFound
	}
	if !MayReadAccountLog(u, rel) {
		sc.q.Kinds = requestEventKinds
	}
	return sc, nil
}

// MayReadAccountLog reports whether someone who relates to an account by
// rel reads its Event Log: staff and its Administrators, as Scope decides.
func MayReadAccountLog(u User, rel Relation) bool { return u.Staff || rel.Role == RoleAdmin }

// CheckEventFilter bounds a filter before it reaches the store.
func CheckEventFilter(f EventFilter) FieldErrors {
	errs := FieldErrors{}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		errs["to"] = FieldError{Msg: "eventlog.error.range"}
	}
	if f.Kind != "" && !slices.Contains(EventKinds, f.Kind) {
		errs["kind"] = FieldError{Msg: "eventlog.error.kind"}
	}
	if len(f.Actor) > MaxEventActorLength {
		errs["actor"] = FieldError{Msg: "eventlog.error.actor"}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// EventLogPage is one page of a log, newest first; Next continues it ("" at the end).
type EventLogPage struct {
	Events []Event
	Next   EventCursor
}

// Page reads the page of sc's log after cursor.
func (l *EventLog) Page(ctx context.Context, sc EventScope, f EventFilter, after EventCursor) (EventLogPage, error) {
	if errs := CheckEventFilter(f); errs != nil {
		return EventLogPage{}, errs
	}
	q := sc.q
	q.Filter, q.After, q.Limit = f, after, EventLogPageSize+1
	events, err := l.store.Events(ctx, q)
	if err != nil {
		return EventLogPage{}, fmt.Errorf("event log: %w", err)
	}
	var p EventLogPage
	if len(events) > EventLogPageSize {
		events = events[:EventLogPageSize]
		last := events[len(events)-1]
		p.Next = EventCursor{At: last.At, ID: last.ID}
	}
	for i := range events {
		events[i] = sc.shown(events[i])
	}
	p.Events = events
	return p, nil
}

// exportPage is how many events one read of an export takes. The export
// reads page after page by key, and hands a page to the writer only after
// its connection is back in the pool: a client that reads a million-row
// file slowly holds no connection while it does (a single streamed query
// held one for the whole download, so a few slow downloads could starve
// every page), and memory holds one page.
const exportPage = 1000

// Export calls each with every event of sc's log that f keeps, newest
// first, one at a time.
func (l *EventLog) Export(ctx context.Context, sc EventScope, f EventFilter, each func(Event) error) error {
	if errs := CheckEventFilter(f); errs != nil {
		return errs
	}
	q := sc.q
	q.Filter, q.Limit = f, exportPage
	for {
		events, err := l.store.Events(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := each(sc.shown(e)); err != nil {
				return err
			}
		}
		if len(events) < exportPage {
			return nil
		}
		last := events[len(events)-1]
		q.After = EventCursor{At: last.At, ID: last.ID}
	}
}

func (s EventScope) shown(e Event) Event {
	if !s.showClient {
		e.Client = ""
	}
	return e
}

// EventKinds is every kind of event the portal records, for the filter.
var EventKinds = []string{
	"requested", "emailed", "forwarded", "resent", "reminded", "approvers_changed", "approver_allowed",
	"approved", "denied", "expired", "withdrawn", "created", "virtual_account_created",
	"access_requested", "access_approved", "access_declined", "access_granted", "access_changed", "access_removed",
	"access_message", "automation_changed", "email_retried",
	"signed_in", "sign_in_failed", "sign_in_blocked", "signed_out", "two_factor_enabled", "two_factor_disabled",
	"recovery_code_used", "password_set", "api_token_created", "api_token_revoked", "language_changed",
	"webhook_created", "webhook_secret_rotated", "webhook_deleted", "webhook_redelivered",
	"sso_domain_required", "sso_domain_released",
}

type clientKey struct{}

// WithClient records in ctx the address a request came from, for the
// events its changes record.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientOf is the address WithClient recorded, or "".
func ClientOf(ctx context.Context) string {
	s, _ := ctx.Value(clientKey{}).(string)
	return s
}
