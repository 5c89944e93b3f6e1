package account

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The conversation on an access request: the user who asked and the
// administrators who decide it (CanManage) write to each other on the
// request itself, as the partner and the approvers do on an account request
// (account_request_conversation.go), with the same message check and the
// same bound. Each message is an event of the account's history and emails
// the other side; once the request is decided its conversation is closed
// and the store refuses a message.

// Who wrote a message on an access request.
const (
	SideRequester     = "requester"
	SideAdministrator = "administrator"
)

// AccessRequestSide is where viewer stands on request r of account a, to
// which rel relates them: the user who asked, an administrator who may
// decide it, or "" for anyone else (staff included), who finds no such
// request. The requester stays the requester should they meanwhile
// administer the account: their messages go to the administrators.
func AccessRequestSide(viewer User, r AccessRequest, a SmartAccount, rel Relation) string {
	switch {
	case viewer.ID != 0 && viewer.ID == r.UserID:
		return SideRequester
	case r.AccountID == a.ID && CanManage(a, rel):
		return SideAdministrator
	}
	return ""
}

// MayWriteOnAccessRequest says whether someone on side may write on r now:
// either side, while it waits for a decision.
func MayWriteOnAccessRequest(side string, r AccessRequest) bool {
	return side != "" && r.Status == AccessPending
}

// AccessMessagePost is a message on an access request ready for the store.
type AccessMessagePost struct {
	RequestID int64
	AccountID AccountID
	By        string // the writer's address
	ByUser    int64
	Side      string
	Text      string
	At        time.Time
	// Emails tell the other side; Quota counts them against the writer's day.
	Emails []Email
	Quota  EmailQuota
}

// AccessConversationStore is what the conversation on access requests
// needs from persistence.
type AccessConversationStore interface {
	// PostAccessMessage records p as an event of the account's history and
	// queues its emails, under the request's lock: ErrAccessRequestDecided
	// when it is no longer pending, ErrTooManyMessages when it holds
	// MaxMessages, *EmailLimitError when p.Quota refuses.
	PostAccessMessage(ctx context.Context, p AccessMessagePost) error
	// AccessMessages is request id's conversation, oldest first, at most
	// MaxMessages.
	AccessMessages(ctx context.Context, requestID int64) ([]Event, error)
}

// OpenedAccessRequest is one access request as its requester or one of its
// administrators sees it: the request, the viewer's side, its conversation
// and, for an administrator, the Virtual Accounts a decision may choose.
type OpenedAccessRequest struct {
	AccessRequestToDecide
	Side         string
	Conversation Conversation
}

// openAccessRequest finds request requestID of account id and where u
// stands on it; anyone with no side finds ErrNotFound, as for no request.
func (s *AccessManagement) openAccessRequest(ctx context.Context, u User, id AccountID, requestID int64) (SmartAccount, AccessRequest, string, error) {
	l, err := s.store.AccountFor(ctx, u.ID, id, "", "")
	if err != nil {
		return SmartAccount{}, AccessRequest{}, "", fmt.Errorf("access request %d of %s: %w", requestID, id, err)
	}
	r, err := s.store.AccessRequestByID(ctx, id, requestID)
	if err != nil {
		return SmartAccount{}, AccessRequest{}, "", fmt.Errorf("access request %d of %s: %w", requestID, id, err)
	}
	side := AccessRequestSide(u, r, l.Account, l.Relation)
	if side == "" {
		return SmartAccount{}, AccessRequest{}, "", fmt.Errorf("access request %d of %s: %w", requestID, id, ErrNotFound)
	}
	return l.Account, r, side, nil
}

// OpenAccessRequest is one request with its conversation, for its requester
// or an administrator of its account; anyone else finds ErrNotFound.
func (s *AccessManagement) OpenAccessRequest(ctx context.Context, u User, id AccountID, requestID int64) (OpenedAccessRequest, error) {
	a, r, side, err := s.openAccessRequest(ctx, u, id, requestID)
	if err != nil {
		return OpenedAccessRequest{}, err
	}
	out := OpenedAccessRequest{
		AccessRequestToDecide: AccessRequestToDecide{
			PendingAccess: PendingAccess{Request: r, Account: a, DomainMatches: UnderDomain(EmailDomain(r.RequesterEmail), a.Domain)},
		},
		Side: side,
	}
	if side == SideAdministrator {
		if out.VirtualAccounts, err = s.vaNames(ctx, u, id); err != nil {
			return OpenedAccessRequest{}, err
		}
	}
	msgs, err := s.store.AccessMessages(ctx, r.ID)
	if err != nil {
		return OpenedAccessRequest{}, fmt.Errorf("messages of access request %d: %w", r.ID, err)
	}
	out.Conversation = Conversation{Messages: msgs, CanWrite: MayWriteOnAccessRequest(side, r)}
	return out, nil
}

// PostAccessMessage is the requester or an administrator writing on access
// request requestID of account id: the requester's message goes to the
// administrators the request's own notice goes to (at most
// maxNotifiedAdmins), an administrator's to the requester. A decided
// request is AccessRequestDecidedError; anyone else finds ErrNotFound.
func (s *AccessManagement) PostAccessMessage(ctx context.Context, u User, id AccountID, requestID int64, text string) error {
	a, r, side, err := s.openAccessRequest(ctx, u, id, requestID)
	if err != nil {
		return err
	}
	if !MayWriteOnAccessRequest(side, r) {
		return &AccessRequestDecidedError{Request: r}
	}
	if text, err = checkMessage(text); err != nil {
		return err
	}
	now := s.clock.Now()
	data := accessEmailData(a, r)
	data.Actor, data.Note, data.RequestID = u.Email, text, r.ID
	var to []string
	if side == SideRequester {
		admins, err := s.store.AdminsOf(ctx, []AccountID{id}, maxNotifiedAdmins)
		if err != nil {
			return fmt.Errorf("message on access request %d: find administrators: %w", r.ID, err)
		}
		for _, admin := range admins[id] {
			to = append(to, admin.Email)
		}
	} else {
		to = []string{r.RequesterEmail}
	}
	emails := make([]Email, 0, len(to))
	for _, addr := range to {
		if addr != u.Email {
			emails = append(emails, Email{Kind: EmailAccessMessage, To: addr, AccountID: id, Data: data})
		}
	}
	err = s.store.PostAccessMessage(ctx, AccessMessagePost{
		RequestID: r.ID, AccountID: id, By: u.Email, ByUser: u.ID, Side: side, Text: text, At: now,
		Emails: emails, Quota: s.limits.quota(u.ID, now, emails),
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTooManyMessages):
		return fullConversation(err)
	case errors.Is(err, ErrAccessRequestDecided):
		decided, rerr := s.store.AccessRequestByID(ctx, id, r.ID)
		if rerr != nil {
			return fmt.Errorf("read access request %d after losing a race: %w", r.ID, rerr)
		}
		return &AccessRequestDecidedError{Request: decided}
	}
	return fmt.Errorf("message on access request %d of %s: %w", r.ID, id, err)
}
