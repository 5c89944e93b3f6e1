package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The conversation on a request: the partner (its request page), the
// approvers (the Pending Request page, through their link) and Cisco
// operators write to each other on the request itself, rather than outside
// the system. Each message is an event of the request's history and emails
// the other side; once the request is decided, withdrawn or expired the
// conversation is closed and the store refuses a message.

// MaxMessageLength bounds one message, in characters.
const MaxMessageLength = 2000

// MaxMessages bounds one request's conversation: the rows a writer makes
// whether or not a message emails anyone (every approver may await Cisco
// review), and the rows each view of the request reads.
const MaxMessages = 200

// ErrTooManyMessages: the request's conversation holds MaxMessages.
var ErrTooManyMessages = fmt.Errorf("the request's conversation holds %d messages: %w", MaxMessages, ErrConflict)

// fullConversation is the form's answer to ErrTooManyMessages, err itself
// otherwise.
func fullConversation(err error) error {
	if errors.Is(err, ErrTooManyMessages) {
		return FieldErrors{"message": {Msg: "conversation.error.too_many", Args: []any{"Max", MaxMessages}}}
	}
	return err
}

// Who wrote a message.
const (
	SidePartner  = "partner"
	SideApprover = "approver"
	SideOperator = "operator"
)

// MessagePost is a message ready for the store to record.
type MessagePost struct {
	RequestID int64
	AccountID AccountID
	By        string // the writer's address
	ByUser    int64  // the signed-in writer; 0 for an approver
	Side      string
	Text      string
	At        time.Time
	// LinkID and TokenHash are the approver's link and the token it was
	// opened with, as in Decision: a link forwarded or replaced meanwhile
	// may not write.
	LinkID    int64
	TokenHash []byte
	// Compose builds, under the request's lock, the emails the message
	// causes from the links the request waits on then, with the new tokens
	// of the approvers it writes to (their links are replaced, as a
	// resend's).
	Compose func(live []ApprovalLink) Reminder
	// AllowEmails decides, under the same lock, whether one more email may
	// go to each address written to; Quota counts them against the
	// writer's day, its Count being the emails Compose gave.
	AllowEmails func(sent map[string][]time.Time) error
	Quota       EmailQuota
}

// ConversationStore is what the conversation needs from persistence.
type ConversationStore interface {
	// PostMessage records p as an event of the request's history, replaces
	// the links p.Compose gives new tokens and queues its emails, unless the
	// request is no longer pending (ErrRequestClosed), p's link was
	// forwarded or replaced (ErrLinkRevoked), or p.AllowEmails or p.Quota
	// refuses (*EmailLimitError).
	PostMessage(ctx context.Context, p MessagePost) error
	// Messages is a request's conversation, oldest first.
	Messages(ctx context.Context, id AccountID) ([]Event, error)
	// LinkWithMessages is LinkByTokenHash and, in the same round trip, the
	// conversation of the link's request (as Messages) when the link is
	// live at now as LinkStateAt says, none otherwise.
	LinkWithMessages(ctx context.Context, hash []byte, now time.Time) (l ApprovalLink, r AccountRequest, replaced bool, msgs []Event, err error)
	// MarkOpened records that link id's page was seen, once.
	MarkOpened(ctx context.Context, linkID int64, at time.Time) error
}

// checkMessage trims a message and checks it is there and within bounds.
func checkMessage(text string) (string, error) {
	// A textarea's maxlength counts a line break once; the form sends it
	// as CRLF.
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return "", FieldErrors{"message": {Msg: "conversation.error.required"}}
	case n > MaxMessageLength:
		return "", FieldErrors{"message": {Msg: "request.error.too_long", Args: []any{"Max", MaxMessageLength}}}
	}
	if CheckText(text) != TextOK {
		return "", FieldErrors{"message": {Msg: "conversation.error.text"}}
	}
	return text, nil
}

// messageToApprovers is what a message to the approvers a request waits on
// sends: each gets it with a new link, their old one then saying it was
// replaced (the first token was never kept in clear).
func messageToApprovers(r AccountRequest, by, text string, live []ApprovalLink) Reminder {
	var out Reminder
	for _, l := range live {
		link, mail := newApprovalLink(r, l.Email)
		mail.Kind = EmailMessageToApprover
		mail.Data.Actor, mail.Data.Note = by, text
		out.Tokens = append(out.Tokens, RotatedToken{LinkID: l.ID, TokenHash: link.TokenHash})
		out.Emails = append(out.Emails, mail)
	}
	return out
}

// messageToPartner is the email telling the partner of a message.
func messageToPartner(r AccountRequest, by, text string) Email {
	data := requestEmailData(r)
	data.Actor, data.Note = by, text
	return Email{Kind: EmailMessageToPartner, To: r.Requester, AccountID: r.Account.ID, Data: data}
}

// OpenLinkWithMessages is OpenLink and the conversation as the page the
// link opens shows it, in one round trip; a link that can no longer act
// shows none (it may have been forwarded to someone else, who now holds the
// conversation). The store reads the messages only for a live link, and
// they are dropped here for any other, whatever it read.
func (s *AccountRequests) OpenLinkWithMessages(ctx context.Context, token string) (PendingLink, []Event, error) {
	if !wellFormedToken(token) {
		return PendingLink{}, nil, ErrNotFound
	}
	now := s.clock.Now()
	l, r, replaced, msgs, err := s.store.LinkWithMessages(ctx, HashToken(token), now)
	if err != nil {
		return PendingLink{}, nil, err
	}
	p := PendingLink{Link: l, Request: r, Replaced: replaced, State: LinkStateAt(l, r, replaced, now)}
	if p.State != LinkLive {
		msgs = nil
	}
	return p, msgs, nil
}

// Seen records that a person saw the page a live link opens: the page's
// script says so once it loaded. A link that cannot act records nothing.
func (s *AccountRequests) Seen(ctx context.Context, token string) error {
	p, err := s.liveLink(ctx, token)
	if err != nil {
		return err
	}
	if !p.Link.OpenedAt.IsZero() {
		return nil
	}
	return s.store.MarkOpened(ctx, p.Link.ID, s.clock.Now())
}

// PostApproverMessage is an approver writing to the partner from the
// Pending Request page, without deciding.
func (s *AccountRequests) PostApproverMessage(ctx context.Context, token, text string) error {
	p, err := s.liveLink(ctx, token)
	if err != nil {
		return err
	}
	if text, err = checkMessage(text); err != nil {
		return err
	}
	r, now := p.Request, s.clock.Now()
	m := MessagePost{
		RequestID: r.ID, AccountID: r.Account.ID, By: p.Link.Email, Side: SideApprover, Text: text, At: now,
		LinkID: p.Link.ID, TokenHash: HashToken(token),
		Compose: func([]ApprovalLink) Reminder {
			return Reminder{Emails: []Email{messageToPartner(r, p.Link.Email, text)}}
		},
		AllowEmails: checkApprovalEmails(now),
	}
	if err := s.store.PostMessage(ctx, m); err != nil {
		if errors.Is(err, ErrTooManyMessages) {
			return fullConversation(err)
		}
		return s.lostRace(ctx, token, fmt.Errorf("message on %s: %w", r.Account.ID, err))
	}
	return nil
}

// PostMessage is the partner who sent the request, or an operator, writing
// on the request's page: the approvers it waits on are emailed the message
// with a new link each; an operator's message also goes to the partner.
// Anyone else who may see the request (its account's Administrators) reads
// the conversation but does not write in it.
func (s *AccountRequests) PostMessage(ctx context.Context, u User, id AccountID, text string) error {
	r, err := s.store.RequestByAccount(ctx, id)
	if err != nil {
		return fmt.Errorf("request for %s: %w", id, err)
	}
	if err := s.canSeeRequest(ctx, u, r); err != nil {
		return err
	}
	side := SidePartner
	switch {
	case u.ID == r.RequestedBy:
	case u.Staff:
		side = SideOperator
	default:
		return ErrForbidden
	}
	now := s.clock.Now()
	if r.StatusAt(now) != RequestPending {
		return &RequestClosedError{Request: r}
	}
	if text, err = checkMessage(text); err != nil {
		return err
	}
	m := MessagePost{
		RequestID: r.ID, AccountID: id, By: u.Email, ByUser: u.ID, Side: side, Text: text, At: now,
		AllowEmails: checkApprovalEmails(now),
	}
	m.Compose = func(live []ApprovalLink) Reminder {
		out := messageToApprovers(r, u.Email, text, live)
		if side == SideOperator {
			out.Emails = append(out.Emails, messageToPartner(r, u.Email, text))
		}
		return out
	}
	m.Quota = s.limits.quota(u.ID, now, nil)
	err = s.store.PostMessage(ctx, m)
	if errors.Is(err, ErrTooManyMessages) {
		return fullConversation(err)
	}
	if err != nil {
		return s.requestLostRace(ctx, id, fmt.Errorf("message on %s: %w", id, err))
	}
	return nil
}

// Conversation is a request's messages for someone who may see the request
// (RequestState's rule); CanWrite says whether they may write now.
type Conversation struct {
	Messages []Event
	CanWrite bool
}

// RequestConversation is the conversation on the request's page.
func (s *AccountRequests) RequestConversation(ctx context.Context, u User, st AccountRequestState) (Conversation, error) {
	msgs, err := s.store.Messages(ctx, st.Request.Account.ID)
	if err != nil {
		return Conversation{}, fmt.Errorf("messages of %s: %w", st.Request.Account.ID, err)
	}
	return Conversation{
		Messages: msgs,
		CanWrite: st.Status == RequestPending && (u.ID == st.Request.RequestedBy || u.Staff),
	}, nil
}
