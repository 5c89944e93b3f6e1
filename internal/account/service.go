package account

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Store is what the domain needs from persistence. Each method is one
// transaction.
type Store interface {
	CreateUser(ctx context.Context, u User) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id int64) (User, error)
	// SignedIn returns the frame of user id (see Frame) in one round trip:
	// every signed-in page needs all of it.
	SignedIn(ctx context.Context, id int64) (Frame, error)
	// OpenSession reads the unexpired sign-in session stored under token
	// and, when it belongs to a user, that user's frame, in one round
	// trip: a page costs no second one to learn who is asking.
	OpenSession(ctx context.Context, token string) (Session, bool, error)
	// DeleteExpiredSessions deletes the sessions whose expiry is before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	SetUserLanguage(ctx context.Context, id int64, lang string, at time.Time) error
	RecordEvent(ctx context.Context, e Event) error
	Events(ctx context.Context, q EventQuery) ([]Event, error)

	// CreateActiveAccount makes an active Smart Account with its DEFAULT
	// Virtual Account, makes admins its administrators and records an event.
	// a.CreatedAt dates it.
	CreateActiveAccount(ctx context.Context, a SmartAccount, admins []int64, actor string) (SmartAccount, error)
	AccountByID(ctx context.Context, id AccountID) (SmartAccount, error)
	AccountByDomain(ctx context.Context, domain string) (SmartAccount, error)
	CreateVirtualAccount(ctx context.Context, id AccountID, name, actor string, at time.Time) error
	// Grant gives a role, replacing the user's role on that scope.
	Grant(ctx context.Context, m Membership, actor string, at time.Time) error

	// Sign-in throttling. CountLoginAttempt returns the latest block over
	// keys and, when none holds at now, counts the attempt as a failure
	// under each key's policy, atomically; RefundLoginAttempt takes back an
	// attempt that succeeded. PruneLoginThrottle forgets keys with no
	// failure since before and no block at now.
	CountLoginAttempt(ctx context.Context, keys []ThrottleKey, now time.Time) (time.Time, error)
	RefundLoginAttempt(ctx context.Context, key ThrottleKey) error
	ClearLoginFailures(ctx context.Context, key string) error
	PruneLoginThrottle(ctx context.Context, before, now time.Time) (int, error)

	AccountRequestStore
	TwoFactorStore
	SSOStore
	FollowUpStore
	ConversationStore
	EscalationStore
	APIStore

	RecentEmails(ctx context.Context, limit, offset int) ([]QueuedEmail, error)
	// RequeueFailedEmail sends a failed email again; one that carried a
	// link carries token instead of the token its failure erased.
	RequeueFailedEmail(ctx context.Context, id int64, now time.Time, token string, by User) error
	DirectoryStore
	ManagementStore
	AccessConversationStore
	VirtualAccountStore
	UsersImportStore
	WebhookStore
}

// Service carries out the portal's use cases over a Store.
type Service struct {
	// The use cases split out along their seams so far, each over the
	// narrow store it needs; their methods are the Service's.
	*AccountRequests
	*Listings
	*AccessManagement
	*EmailLimits
	*Tokens
	*SignIn
	*Webhooks
	*EventLog

	store  Store
	clock  Clock
	hasher PasswordHasher
}

// NewService wires a Service.
func NewService(store Store, clock Clock, hasher PasswordHasher) *Service {
	limits := &EmailLimits{}
	listings := NewListings(store, clock)
	return &Service{
		AccountRequests:  NewAccountRequests(store, clock, limits),
		Listings:         listings,
		AccessManagement: NewAccessManagement(store, clock, listings, limits),
		Tokens:           NewTokens(store, clock),
		SignIn:           NewSignIn(store, clock, hasher),
		Webhooks:         NewWebhooks(store, clock, nil, false),
		EventLog:         NewEventLog(store),
		EmailLimits:      limits,
		store:            store, clock: clock, hasher: hasher,
	}
}

// Clock is the service's clock, for adapters that must agree with it.
func (s *Service) Clock() Clock { return s.clock }

// Bounds on free text, in characters.
const (
	MaxNameLength = 100
)

// NewUser is what an operator gives to make a user.
type NewUser struct {
	Email    string
	Name     string
	Password string
	Staff    bool
}

// MinPasswordLength follows NIST SP 800-63B.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// AddUser creates a user with a password.
func (s *Service) AddUser(ctx context.Context, in NewUser) (User, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return User{}, fmt.Errorf("email: %w", err)
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLength {
		return User{}, fmt.Errorf("name: give 1 to %d characters", MaxNameLength)
	}
	if n := utf8.RuneCountInString(in.Password); n < MinPasswordLength || n > MaxPasswordLength {
		return User{}, fmt.Errorf("password: give %d to %d characters", MinPasswordLength, MaxPasswordLength)
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	u, err := s.store.CreateUser(ctx, User{Email: email, Name: name, PasswordHash: hash, Staff: in.Staff})
	if err != nil {
		return User{}, fmt.Errorf("add user %s: %w", email, err)
	}
	return u, nil
}

// User returns a user by id.
func (s *Service) User(ctx context.Context, id int64) (User, error) {
	return s.store.UserByID(ctx, id)
}

// Frame is what every signed-in page shows of its viewer besides its own
// content: who they are, the account the menu names for them and what
// waits for them in Account Management.
type Frame struct {
	User User
	// MenuAccount is the name of the account the menu names (see
	// DirectoryStore.MenuAccount), "" when they hold no role.
	MenuAccount string
	Manage      ManagementMenu
}

// Session is a stored sign-in session, opaque to the domain, and the frame
// of the user it belongs to.
type Session struct {
	Data []byte
	// Frame is nil when the session belongs to nobody (signed out, or in
	// the middle of a sign-in) or to a user who is gone.
	Frame *Frame
}

// SignedIn returns the frame of the user a session belongs to.
func (s *Service) SignedIn(ctx context.Context, id int64) (Frame, error) {
	return s.store.SignedIn(ctx, id)
}

// OpenSession reads the session stored under token with its user's frame;
// found is false for no session or an expired one.
func (s *Service) OpenSession(ctx context.Context, token string) (Session, bool, error) {
	return s.store.OpenSession(ctx, token)
}

// SetLanguage records a user's language choice; "" (or a language the
// portal lacks) clears it, so the browser's choice applies again.
func (s *Service) SetLanguage(ctx context.Context, userID int64, lang string) error {
	if !IsLanguage(lang) {
		lang = ""
	}
	return s.store.SetUserLanguage(ctx, userID, lang, s.clock.Now())
}

// NewAccount is what an operator gives to make an active Smart Account.
type NewAccount struct {
	Name        string
	Domain      string
	Type        Type
	Restricted  bool
	AdminEmails []string
}

// AddAccount creates an active Smart Account with a DEFAULT Virtual Account
// and the named administrators, who must already be users.
func (s *Service) AddAccount(ctx context.Context, in NewAccount, actor string) (SmartAccount, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLength {
		return SmartAccount{}, fmt.Errorf("name: give 1 to %d characters", MaxNameLength)
	}
	domain, err := NormalizeDomain(in.Domain)
	if err != nil {
		return SmartAccount{}, fmt.Errorf("domain %q: %w", in.Domain, err)
	}
	if in.Type == "" {
		in.Type = TypeCustomer
	}
	var admins []int64
	for _, e := range in.AdminEmails {
		u, err := s.userByEmail(ctx, e)
		if err != nil {
			return SmartAccount{}, fmt.Errorf("admin: %w", err)
		}
		admins = append(admins, u.ID)
	}
	a, err := s.store.CreateActiveAccount(ctx, SmartAccount{
		Name: name, Domain: domain, Type: in.Type, Restricted: in.Restricted, Status: StatusActive, CreatedAt: s.clock.Now(),
	}, admins, actor)
	if err != nil {
		return SmartAccount{}, fmt.Errorf("add account %q: %w", name, err)
	}
	return a, nil
}

// GrantRole gives a user a role on a Smart Account or one of its Virtual Accounts.
func (s *Service) GrantRole(ctx context.Context, email string, id AccountID, va string, role Role, actor string) error {
	u, err := s.userByEmail(ctx, email)
	if err != nil {
		return err
	}
	if role == RoleApprover && va != "" {
		return fmt.Errorf("role approver applies to a Smart Account, not a Virtual Account")
	}
	if _, err := s.store.AccountByID(ctx, id); err != nil {
		return fmt.Errorf("account %s: %w", id, err)
	}
	if err := s.store.Grant(ctx, Membership{UserID: u.ID, AccountID: id, VirtualAccount: va, Role: role}, actor, s.clock.Now()); err != nil {
		return fmt.Errorf("grant %s on %s: %w", role, id, err)
	}
	return nil
}

// AccountByDomain finds the live (pending or active) Smart Account holding a domain.
func (s *Service) AccountByDomain(ctx context.Context, domain string) (SmartAccount, error) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return SmartAccount{}, err
	}
	return s.store.AccountByDomain(ctx, d)
}

// UserByEmail finds a user.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.userByEmail(ctx, email)
}

func (s *Service) userByEmail(ctx context.Context, email string) (User, error) {
	return userByEmail(ctx, s.store, email)
}

// userByEmail finds the user an address names, as typed.
func userByEmail(ctx context.Context, store interface {
	UserByEmail(ctx context.Context, email string) (User, error)
}, email string) (User, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return User{}, fmt.Errorf("email %q: %w", email, err)
	}
	u, err := store.UserByEmail(ctx, e)
	if err != nil {
		return User{}, fmt.Errorf("no user with email %s: %w", e, err)
	}
	return u, nil
}

// AddVirtualAccount adds a named Virtual Account to an active Smart Account.
func (s *Service) AddVirtualAccount(ctx context.Context, id AccountID, name, actor string) error {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLength {
		return fmt.Errorf("virtual account name: give 1 to %d characters", MaxNameLength)
	}
	if err := s.store.CreateVirtualAccount(ctx, id, name, actor, s.clock.Now()); err != nil {
		return fmt.Errorf("add virtual account %q to %s: %w", name, id, err)
	}
	return nil
}

// RecentEmails lists the outbox for an operator, newest first.
func (s *Service) RecentEmails(ctx context.Context, u User, limit, offset int) ([]QueuedEmail, error) {
	if !u.Staff {
		return nil, ErrForbidden
	}
	return s.store.RecentEmails(ctx, limit, offset)
}

// RetryEmail lets an operator send a failed email again, with a new token
// for its link: a failed email's token was erased.
func (s *Service) RetryEmail(ctx context.Context, u User, id int64) error {
	if !u.Staff {
		return ErrForbidden
	}
	if err := s.store.RequeueFailedEmail(ctx, id, s.clock.Now(), randomToken(tokenBytes), u); err != nil {
		return fmt.Errorf("retry email %d: %w", id, err)
	}
	return nil
}
