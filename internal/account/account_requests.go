package account

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AccountRequests is the life of a partner's request for a customer's
// Smart Account: the form and its submission, the approver's link and
// decision, the partner's follow-up and withdrawal, the operators' queue,
// and the jobs that remind and expire. It touches requests, their links,
// the account they create and the emails they cause.
type AccountRequests struct {
	store  AccountRequestsStore
	clock  Clock
	limits *EmailLimits
	// reminderDays are the days before expiry approvers are reminded.
	reminderDays []int
}

// AccountRequestsStore is what AccountRequests needs from persistence.
type AccountRequestsStore interface {
	AccountRequestStore
	FollowUpStore
	ConversationStore
	EscalationStore
	// AccountFor and AccountByDomain answer how a user relates to an
	// account and who holds a domain; RequestsBy lists a partner's
	// requests.
	relationReader
	AccountByDomain(ctx context.Context, domain string) (SmartAccount, error)
	RequestsBy(ctx context.Context, userID int64, before AccountID, limit int) ([]AccountRequest, error)
}

// NewAccountRequests wires AccountRequests.
func NewAccountRequests(store AccountRequestsStore, clock Clock, limits *EmailLimits) *AccountRequests {
	return &AccountRequests{store: store, clock: clock, limits: limits}
}

// RequestStatus is where a request for a customer's Smart Account stands.
type RequestStatus string

const (
	RequestPending   RequestStatus = "pending"
	RequestApproved  RequestStatus = "approved"
	RequestDenied    RequestStatus = "denied"
	RequestExpired   RequestStatus = "expired"
	RequestWithdrawn RequestStatus = "withdrawn"
)

// RequestLifetime is how long a request and its links wait for a decision.
const RequestLifetime = 90 * 24 * time.Hour

// Bounds on what the request form takes.
const (
	MaxNoteLength      = 2000
	MaxCustomerEmails  = 10
	MaxUserEmails      = 50
	SubmissionKeyBytes = 16
)

// AccountRequest is a partner's request for a customer's Smart Account.
type AccountRequest struct {
	ID             int64
	Account        SmartAccount
	RequestedBy    int64
	Requester      string // the requester's email, kept for the history
	RequesterName  string
	PartnerName    string
	DomainAsTyped  string
	NoteToApprover string
	CustomerEmails []string
	// Held are those of CustomerEmails awaiting an operator's review
	// (outside the account's domain): they hold no link until an operator
	// allows them, and the request shows "Awaiting Cisco review" meanwhile.
	Held []string
	// UsersLeftOut are those of UserEmails the approver did not keep.
	UsersLeftOut []string
	// CustomerLanguage is the language the partner chose for the customer:
	// every email to the approvers is in it, and so is the sign-in of those
	// the approval creates.
	CustomerLanguage string
	NoteToCustomer   string
	UserEmails       []string
	NoteToUsers      string
	SubmissionKey    string
	// InputHash is the fingerprint of what an API call sent with an
	// Idempotency-Key (see InputFingerprint); nil for the form.
	InputHash  []byte
	Status     RequestStatus
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RemindedAt time.Time
	// DecidedAt, DecidedBy (an address) and DecidedByUser (an operator's
	// user id, or 0) say who approved, denied or withdrew the request, and when.
	DecidedAt      time.Time
	DecidedBy      string
	DecidedByUser  int64
	DecisionReason string
	// Renews is the account whose denied, expired or withdrawn request
	// this one sends again; 0 for a first request. Only CreateRequest reads
	// it: the link lives in both accounts' histories.
	Renews AccountID
}

// AccountRequestInput is what the "Request a Smart Account for a Customer" form carried.
type AccountRequestInput struct {
	Name           string
	Domain         string // as typed; "" means the requester's own domain
	NoteToApprover string
	CustomerEmails string // several, separated by commas, semicolons, spaces or new lines
	// CustomerLanguage is the customer's language; "" means the requester's.
	CustomerLanguage string
	NoteToCustomer   string
	UserEmails       string
	NoteToUsers      string
	SubmissionKey    string
}

// CheckedRequest is a request that passed every rule, ready to send.
type CheckedRequest struct {
	Name           string
	Domain         string // stored form
	DomainAsTyped  string
	NoteToApprover string
	CustomerEmails []string
	// Held are those of CustomerEmails outside the account's domain: no
	// link goes to them until an operator allows it.
	Held             []string
	CustomerLanguage string
	NoteToCustomer   string
	UserEmails       []string
	NoteToUsers      string
}

// ApprovalLink is what the store keeps of one approver's link.
type ApprovalLink struct {
	ID        int64
	RequestID int64
	Email     string
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	// RevokedAt is when its holder forwarded it to ForwardedTo.
	RevokedAt   time.Time
	ForwardedTo string
	// RotatedAt is when a newer token replaced its token: a reminder, or
	// the link given to this address again after it was forwarded away.
	RotatedAt time.Time
	// OpenedAt is when a person first saw its page; zero for never.
	OpenedAt time.Time
}

// AccountRequestStore is what requests need from persistence.
type AccountRequestStore interface {
	// CreateRequest stores, in one transaction, the pending Smart Account, its
	// request, its approval links, a "requested" event and the emails. A
	// submission key seen before returns ErrDuplicateSubmission with the
	// earlier request; a live account holding the domain returns a
	// *DomainTakenError.
	// quota counts the emails against the requester's day (an
	// *EmailLimitError when over it). r.Held are stored awaiting review.
	CreateRequest(ctx context.Context, r AccountRequest, links []ApprovalLink, emails []Email, quota EmailQuota) (AccountRequest, error)
	RequestBySubmissionKey(ctx context.Context, key string) (AccountRequest, error)
	// SubmissionFacts reads, at once, what SubmitRequest checks a form
	// against; the domain's facts are left out while domain is "".
	SubmissionFacts(ctx context.Context, userID int64, key, domain string) (SubmissionFacts, error)

	DecisionStore
}

// SubmissionFacts is what a submission is checked against. A nil field is
// one the store did not find.
type SubmissionFacts struct {
	// Partner is the account the menu names as the requester's (see
	// DirectoryStore.MenuAccount): a user with none holds no role.
	Partner *SmartAccount
	// Earlier is the request an earlier submission of this form made.
	Earlier *AccountRequest
	// Holder is the live (pending or active) account holding the domain.
	Holder *SmartAccount
	// Parents are the active accounts whose domain the domain falls under
	// (globex.example for emea.globex.example), with their administrators'
	// addresses, the nearest first.
	Parents []AccountAdmins
}

// AccountAdmins is a Smart Account with its administrators' addresses.
type AccountAdmins struct {
	Account SmartAccount
	Admins  []string
}

// ErrDuplicateSubmission says this exact submission was stored before.
var ErrDuplicateSubmission = errors.New("request already submitted")

// DomainTakenError names the live account that holds a domain.
type DomainTakenError struct{ Account SmartAccount }

func (e *DomainTakenError) Error() string {
	return fmt.Sprintf("domain %s is held by %s", e.Account.Domain, e.Account.ID)
}

// SplitEmails splits a field of several addresses on commas, semicolons,
// spaces and new lines, dropping empties and repeats (case-insensitively).
// It stops once it holds limit+1 addresses: that is enough to say "too
// many", and a field of ten megabytes then costs no more than a full one.
func SplitEmails(s string, limit int) []string {
	var out []string
	seen := map[string]bool{}
	for len(s) > 0 && len(out) <= limit {
		i := strings.IndexFunc(s, isEmailSeparator)
		f := s
		if i >= 0 {
			f, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if f == "" {
			continue
		}
		if k := strings.ToLower(f); !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

func isEmailSeparator(r rune) bool {
	return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
}

// CheckRequest applies every rule of the form for requester u; the errors
// are FieldErrors, one per field.
func (s *AccountRequests) CheckRequest(ctx context.Context, u User, in AccountRequestInput) (CheckedRequest, error) {
	c, fe := checkForm(u, in)
	if c.Domain != "" {
		if err := s.checkDomainFree(ctx, c.Domain, fe); err != nil {
			return c, err
		}
	}
	return c, fe.Err()
}

// checkForm applies the rules that need nothing stored; c.Domain is ""
// while the domain is invalid.
func checkForm(u User, in AccountRequestInput) (CheckedRequest, FieldErrors) {
	fe := FieldErrors{}
	c := CheckedRequest{
		Name:           strings.TrimSpace(in.Name),
		NoteToApprover: strings.TrimSpace(in.NoteToApprover),
		NoteToCustomer: strings.TrimSpace(in.NoteToCustomer),
		NoteToUsers:    strings.TrimSpace(in.NoteToUsers),
	}
	switch n := utf8.RuneCountInString(c.Name); {
	case n == 0:
		fe.Add("name", "request.error.name_required")
	case n > MaxNameLength:
		fe.Add("name", "request.error.too_long", "Max", MaxNameLength)
	}

	own := EmailDomain(u.Email)
	c.DomainAsTyped = strings.TrimSpace(in.Domain)
	if c.DomainAsTyped == "" {
		c.DomainAsTyped = DisplayDomain(own)
	}
	domain, err := NormalizeDomain(c.DomainAsTyped)
	switch {
	case errors.Is(err, ErrDomainNotOwnable):
		fe.Add("domain", "request.error.domain_suffix")
	case err != nil:
		fe.Add("domain", "request.error.domain_syntax")
	default:
		c.Domain = domain
	}
	if c.Domain != "" && c.Domain != own && c.NoteToApprover == "" {
		fe.Add("note_to_approver", "request.error.note_required")
	}
	for field, note := range map[string]string{"note_to_approver": c.NoteToApprover, "note_to_customer": c.NoteToCustomer, "note_to_users": c.NoteToUsers} {
		if utf8.RuneCountInString(note) > MaxNoteLength {
			fe.Add(field, "request.error.too_long", "Max", MaxNoteLength)
		}
	}

	c.CustomerEmails, c.Held = approverEmails(fe, "customer_emails", in.CustomerEmails, own, c.Domain)
	if len(c.Held) > 0 && c.NoteToApprover == "" {
		// An operator decides whether these addresses may approve; the
		// note is what they decide on.
		fe.Add("note_to_approver", "request.error.note_required_held")
	}
	switch c.CustomerLanguage = in.CustomerLanguage; {
	case c.CustomerLanguage == "" && u.Language != "":
		c.CustomerLanguage = u.Language
	case c.CustomerLanguage == "":
		c.CustomerLanguage = DefaultLanguage
	case !IsLanguage(c.CustomerLanguage):
		fe.Add("customer_language", "request.error.language")
	}
	c.UserEmails = checkEmails(fe, "user_emails", in.UserEmails, MaxUserEmails, false)
	if c.Domain != "" {
		// The users an approval adds get a role on the customer's account,
		// so they are the customer's people as its approvers are; anyone
		// else asks for access once the account exists.
		for _, e := range c.UserEmails {
			if PlaceApprover(e, c.Domain, own) != ApproverCustomer {
				fe.Add("user_emails", "request.error.user_outside", "Email", e, "Domain", DisplayDomain(c.Domain))
				break
			}
		}
	}
	return c, fe
}

// checkDomainFree refuses a domain a live account already holds, naming the
// account unless it is restricted. A subdomain of a held domain is allowed.
func (s *AccountRequests) checkDomainFree(ctx context.Context, domain string, fe FieldErrors) error {
	held, err := s.store.AccountByDomain(ctx, domain)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check domain %s: %w", domain, err)
	}
	fe[`domain`] = domainTakenError(held)
	return nil
}

func domainTakenError(held SmartAccount) FieldError {
	if held.Restricted {
		return FieldError{Msg: "request.error.domain_taken_restricted", Offer: OfferSearch}
	}
	return FieldError{Msg: "request.error.domain_taken", Args: []any{"Name", held.Name, "ID", held.ID.String()},
		Offer: OfferRequestAccess, Account: held.ID}
}

// approverEmails parses approver addresses (several in one field, as the
// form's Customer Email addresses) for an account at domain ("" while the
// domain is invalid) requested by someone at email domain own, and places
// each (see PlaceApprover): an address at the requester's own domain is
// refused, one outside the account's domain is returned in held as well.
// The form, the API and a change of approvers all parse through here.
func approverEmails(fe FieldErrors, field, raw, own, domain string) (list, held []string) {
	list = checkEmails(fe, field, raw, MaxCustomerEmails, true)
	if domain == "" {
		return list, nil
	}
	for _, e := range list {
		switch PlaceApprover(e, domain, own) {
		case ApproverRequester:
			fe.Add(field, "request.error.own_domain", "Email", e, "Domain", DisplayDomain(own))
			return list, nil
		case ApproverOutside:
			held = append(held, e)
		}
	}
	return list, held
}

func checkEmails(fe FieldErrors, field, raw string, max int, required bool) []string {
	list := SplitEmails(raw, max)
	if len(list) == 0 {
		if required {
			fe.Add(field, "request.error.emails_required")
		}
		return nil
	}
	if len(list) > max {
		fe.Add(field, "request.error.too_many_emails", "Max", max)
		return nil
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		n, err := NormalizeEmail(e)
		if err != nil {
			fe.Add(field, "request.error.email_invalid", "Email", e)
			return nil
		}
		out = append(out, n)
	}
	return out
}

// NewSubmissionKey is the one-time key a review form carries, so the same
// submission twice makes one request.
func NewSubmissionKey() string { return randomToken(SubmissionKeyBytes) }

// SubmitRequest checks the form again and stores the pending Smart Account,
// its request, one approval link per customer address and every email it
// causes, in one transaction. Sending the same submission twice returns the
// first request.
func (s *AccountRequests) SubmitRequest(ctx context.Context, u User, in AccountRequestInput) (AccountRequest, error) {
	return s.submit(ctx, u, in, nil, 0)
}

// submit is SubmitRequest; a submission whose key was seen before is that
// earlier request only if its fingerprint is hash (nil for the form, whose
// key is the review page's own and cannot carry another body). renews is
// the account whose ended request this one sends again, or 0.
func (s *AccountRequests) submit(ctx context.Context, u User, in AccountRequestInput, hash []byte, renews AccountID) (AccountRequest, error) {
	earlier := func(prev AccountRequest) (AccountRequest, error) {
		if hash != nil && !bytes.Equal(prev.InputHash, hash) {
			return AccountRequest{}, &IdempotencyMismatchError{Request: prev}
		}
		return prev, nil
	}
	c, fe := checkForm(u, in)
	// One round trip reads everything the checks below need.
	facts, err := s.store.SubmissionFacts(ctx, u.ID, in.SubmissionKey, c.Domain)
	if err != nil {
		return AccountRequest{}, err
	}
	// Only a user with a role may open CLC, so only they may request.
	if facts.Partner == nil {
		return AccountRequest{}, ErrForbidden
	}
	partner := facts.Partner.Name
	if len(in.SubmissionKey) < 16 || len(in.SubmissionKey) > 64 {
		return AccountRequest{}, FieldErrors{"form": {Msg: "request.error.stale_form"}}
	}
	// A submission seen before is answered with its request, before the
	// rules find the domain taken by that very request.
	switch prev := facts.Earlier; {
	case prev != nil && prev.RequestedBy == u.ID:
		return earlier(*prev)
	case prev != nil:
		return AccountRequest{}, FieldErrors{"form": {Msg: "request.error.stale_form"}}
	}
	if facts.Holder != nil {
		// A double click: the other submission of this very form may have
		// committed between the lookup above and the domain's, taking the
		// domain itself. Then this submission is that request, not a refusal.
		if prev, perr := s.store.RequestBySubmissionKey(ctx, in.SubmissionKey); perr == nil && prev.RequestedBy == u.ID {
			return earlier(prev)
		}
		fe["domain"] = domainTakenError(*facts.Holder)
	}
	if err := fe.Err(); err != nil {
		return AccountRequest{}, err
	}
	now := s.clock.Now()
	r := AccountRequest{
		Account: SmartAccount{Name: c.Name, Domain: c.Domain, Type: TypeCustomer, Status: StatusPending, CreatedBy: u.ID},
		// No Partner Holding account can be requested here: the type is fixed,
		// whatever the form carried.
		RequestedBy: u.ID, Requester: u.Email, RequesterName: u.Name, PartnerName: partner, DomainAsTyped: c.DomainAsTyped,
		NoteToApprover: c.NoteToApprover, CustomerEmails: c.CustomerEmails, CustomerLanguage: c.CustomerLanguage, NoteToCustomer: c.NoteToCustomer,
		UserEmails: c.UserEmails, NoteToUsers: c.NoteToUsers, SubmissionKey: in.SubmissionKey, InputHash: hash,
		Status: RequestPending, CreatedAt: now, ExpiresAt: now.Add(RequestLifetime), Renews: renews,
	}
	data := EmailData{
		AccountName: c.Name, Domain: c.DomainAsTyped, RequesterName: u.Name, RequesterEmail: u.Email,
		PartnerName: partner, ExpiresAt: r.ExpiresAt, Approvers: c.CustomerEmails, Users: c.UserEmails, Held: c.Held,
	}
	r.Held = c.Held
	var links []ApprovalLink
	var emails []Email
	for _, to := range c.CustomerEmails {
		if slices.Contains(c.Held, to) {
			continue // no link until an operator allows it
		}
		token := randomToken(32)
		links = append(links, ApprovalLink{Email: to, TokenHash: HashToken(token), ExpiresAt: r.ExpiresAt})
		d := data
		d.Note = c.NoteToCustomer
		emails = append(emails, Email{Kind: EmailApprovalRequest, To: to, Lang: c.CustomerLanguage, Secret: token, Data: d})
	}
	for _, p := range facts.Parents {
		for _, admin := range p.Admins {
			d := data
			d.ParentAccount = p.Account.Name
			emails = append(emails, Email{Kind: EmailSubdomainNotice, To: admin, AccountID: p.Account.ID, Data: d})
		}
	}
	emails = append(emails, Email{Kind: EmailRequestConfirmation, To: u.Email, Lang: u.Language, Data: data})

	created, err := s.store.CreateRequest(ctx, r, links, emails, s.limits.quota(u.ID, now, emails))
	var taken *DomainTakenError
	switch {
	case errors.Is(err, ErrDuplicateSubmission) && created.RequestedBy == u.ID:
		return earlier(created)
	case errors.Is(err, ErrDuplicateSubmission):
		return AccountRequest{}, FieldErrors{"form": {Msg: "request.error.stale_form"}}
	case errors.As(err, &taken):
		// Another request took the domain between the check and the insert.
		return AccountRequest{}, FieldErrors{"domain": domainTakenError(taken.Account)}
	case err != nil:
		return AccountRequest{}, fmt.Errorf("submit request for %s: %w", c.Domain, err)
	}
	return created, nil
}

// InputFingerprint is the SHA-256 of everything in asks for, its key
// aside: two API calls with one Idempotency-Key are one request only if
// their fingerprints match, whichever member differs.
func InputFingerprint(in AccountRequestInput) []byte {
	in.SubmissionKey = ""
	// A struct of strings always encodes, in field order.
	b, _ := json.Marshal(in)
	h := sha256.Sum256(b)
	return h[:]
}

// randomToken is n random bytes, URL-safe.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is what the store keeps of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
