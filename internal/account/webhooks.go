package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Signed webhooks, after the Standard Webhooks specification. A partner
// registers endpoints for the account requests they send; a Smart Account
// Administrator for the access requests of an account they administer. An
// endpoint is its owner's alone: to anyone else, and to its owner once they
// no longer administer its account, it does not exist.
//
// Every event the history records is offered to the endpoints that chose
// its type, in the transaction that records it (a delivery row each), and a
// worker posts it, signed, retrying for about a day.

// WebhookEventType is the "type" of a webhook's payload.
type WebhookEventType string

// The types an endpoint chooses from: the account request's life for a
// partner's endpoint, the access requests for an administrator's.
const (
	WebhookRequestSubmitted        WebhookEventType = "account_request.submitted"
	WebhookRequestEmailed          WebhookEventType = "account_request.emailed"
	WebhookRequestForwarded        WebhookEventType = "account_request.forwarded"
	WebhookRequestApproved         WebhookEventType = "account_request.approved"
	WebhookRequestDenied           WebhookEventType = "account_request.denied"
	WebhookRequestExpired          WebhookEventType = "account_request.expired"
	WebhookRequestWithdrawn        WebhookEventType = "account_request.withdrawn"
	WebhookRequestApproversChanged WebhookEventType = "account_request.approvers_changed"
	WebhookRequestCommentAdded     WebhookEventType = "account_request.comment_added"
	WebhookAccessRequested         WebhookEventType = "access_request.requested"
	WebhookAccessApproved          WebhookEventType = "access_request.approved"
	WebhookAccessDeclined          WebhookEventType = "access_request.declined"
	WebhookAccessCommentAdded      WebhookEventType = "access_request.comment_added"
)

// webhookEventKinds maps the history's event kinds to the webhook types
// they are delivered as; a kind not here is never delivered.
var webhookEventKinds = []struct {
	Kind string
	Type WebhookEventType
}{
	{"requested", WebhookRequestSubmitted},
	{"emailed", WebhookRequestEmailed},
	{"forwarded", WebhookRequestForwarded},
	{"approved", WebhookRequestApproved},
	{"denied", WebhookRequestDenied},
	{"expired", WebhookRequestExpired},
	{"withdrawn", WebhookRequestWithdrawn},
	{"approvers_changed", WebhookRequestApproversChanged},
	{"message", WebhookRequestCommentAdded},
	{"access_requested", WebhookAccessRequested},
	{"access_approved", WebhookAccessApproved},
	{"access_declined", WebhookAccessDeclined},
	{"access_message", WebhookAccessCommentAdded},
}

// WebhookEventKinds lists each event kind of the history that webhooks
// deliver, with its type.
func WebhookEventKinds() (kinds []string, types []WebhookEventType) {
	for _, k := range webhookEventKinds {
		kinds, types = append(kinds, k.Kind), append(types, k.Type)
	}
	return kinds, types
}

// WebhookTypesFor is the types an endpoint of that scope may choose: a
// partner's (account 0) the account request's, an administrator's the
// access requests'.
func WebhookTypesFor(account AccountID) []WebhookEventType {
	prefix := "account_request."
	if account != 0 {
		prefix = "access_request."
	}
	var out []WebhookEventType
	for _, k := range webhookEventKinds {
		if strings.HasPrefix(string(k.Type), prefix) {
			out = append(out, k.Type)
		}
	}
	return out
}

// Webhook bounds.
const (
	// MaxWebhookEndpoints is how many endpoints one user registers.
	MaxWebhookEndpoints = 10
	MaxWebhookURLLength = 2000
	// WebhookSecretPrefix marks a signing secret, as the specification says.
	WebhookSecretPrefix = "whsec_"
	webhookSecretBytes  = 32
	// WebhookRotationOverlap is how long the previous secret still signs
	// after a rotation, so a receiver can switch without losing one event.
	WebhookRotationOverlap = 24 * time.Hour
	// WebhookRetryFor is how long a delivery is retried before it fails.
	WebhookRetryFor = 24 * time.Hour
	// MaxWebhookResponseBody is what is kept of an endpoint's answer.
	MaxWebhookResponseBody = 1024
	// MaxListedWebhookDeliveries bounds an endpoint's list of deliveries,
	// and MaxListedWebhookAttempts one delivery's attempts.
	MaxListedWebhookDeliveries = 50
	MaxListedWebhookAttempts   = 50
)

// ErrWebhookTargetPrivate: the endpoint's host resolves only to loopback,
// private, link-local or otherwise internal addresses.
var ErrWebhookTargetPrivate = errors.New("the endpoint's address is not a public one")

// WebhookEndpoint is a registered endpoint.
type WebhookEndpoint struct {
	ID      int64
	OwnerID int64
	// Account is the Smart Account whose access requests it receives; zero
	// for a partner's endpoint, which receives its owner's account requests.
	Account    AccountID
	URL        string
	EventTypes []WebhookEventType
	// Secret signs every delivery; PreviousSecret too, until PreviousUntil.
	Secret         string
	PreviousSecret string
	PreviousUntil  time.Time
	CreatedAt      time.Time
}

// Rotating says the previous secret still signs at now.
func (e WebhookEndpoint) Rotating(now time.Time) bool {
	return e.PreviousSecret != "" && now.Before(e.PreviousUntil)
}

// WebhookDeliveryState is where a delivery stands.
type WebhookDeliveryState string

const (
	WebhookPending   WebhookDeliveryState = "pending"
	WebhookSending   WebhookDeliveryState = "sending"
	WebhookDelivered WebhookDeliveryState = "delivered"
	WebhookFailed    WebhookDeliveryState = "failed"
)

// WebhookDelivery is one event for one endpoint, with every attempt at it.
type WebhookDelivery struct {
	ID            int64
	WebhookID     string // the webhook-id header, the same on every attempt
	EndpointID    int64
	EventType     WebhookEventType
	Payload       string
	State         WebhookDeliveryState
	Attempts      int // claims, which fence the worker's records
	Failures      int // attempts the endpoint failed
	NextAttemptAt time.Time
	GiveUpAt      time.Time
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   time.Time
}

// WebhookAttempt is what one attempt got back: a status, or why none.
type WebhookAttempt struct {
	Attempt      int
	At           time.Time
	StatusCode   int
	Error        string
	ResponseBody string
	Duration     time.Duration
}

// QueuedWebhook is a claimed delivery with what the worker needs to post it.
type QueuedWebhook struct {
	WebhookDelivery
	URL     string
	Secrets []string // the current secret first, then a previous one still valid
}

// WebhookClaim names one claim of a delivery: the worker's outcome is
// recorded only while the delivery is still under it.
type WebhookClaim struct {
	ID      int64
	Attempt int
}

// Claim is the claim under which q was taken.
func (q QueuedWebhook) Claim() WebhookClaim { return WebhookClaim{ID: q.ID, Attempt: q.Attempts} }

// WebhookTargets checks where an endpoint's URL leads.
type WebhookTargets interface {
	// Check refuses a host that resolves only to addresses the portal must
	// not post to (ErrWebhookTargetPrivate), or does not resolve.
	Check(ctx context.Context, u *url.URL) error
}

// WebhookStore is what Webhooks needs from persistence.
type WebhookStore interface {
	AccountFor(ctx context.Context, viewerID int64, id AccountID, query, exactDomain string) (Listing, error)
	// CreateWebhookEndpoint stores e unless its owner already has max
	// endpoints (ErrConflict), recording webhook_created.
	CreateWebhookEndpoint(ctx context.Context, e WebhookEndpoint, max int) (WebhookEndpoint, error)
	// WebhookEndpoints lists a user's endpoints, newest first.
	WebhookEndpoints(ctx context.Context, ownerID int64) ([]WebhookEndpoint, error)
	// WebhookEndpoint is one endpoint of the owner's; ErrNotFound otherwise.
	WebhookEndpoint(ctx context.Context, ownerID, id int64) (WebhookEndpoint, error)
	// DeleteWebhookEndpoint removes an endpoint of the owner's, recording
	// webhook_deleted at at.
	DeleteWebhookEndpoint(ctx context.Context, ownerID, id int64, at time.Time) error
	// RotateWebhookSecret makes secret the endpoint's, the current one its
	// previous, valid until until, recording webhook_secret_rotated at now.
	RotateWebhookSecret(ctx context.Context, ownerID, id int64, secret string, now, until time.Time) error
	// WebhookDeliveries lists an endpoint's newest deliveries.
	WebhookDeliveries(ctx context.Context, endpointID int64, limit int) ([]WebhookDelivery, error)
	// WebhookAttempts lists one delivery of the endpoint with its attempts,
	// oldest first; ErrNotFound when it is not the endpoint's.
	WebhookAttempts(ctx context.Context, endpointID, deliveryID int64, limit int) (WebhookDelivery, []WebhookAttempt, error)
	// RedeliverWebhook makes a delivered or failed delivery of the endpoint
	// due again at now, retried until giveUp, with its webhook-id and body;
	// ErrConflict while it is still pending or being sent. It records
	// webhook_redelivered by the endpoint's owner.
	RedeliverWebhook(ctx context.Context, ownerID, endpointID, deliveryID int64, now, giveUp time.Time) error
	// PruneWebhookDeliveries deletes, among the oldest limit deliveries,
	// those settled (delivered or failed) and made before before, with
	// their attempts.
	PruneWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
}

// WebhookRetention is how long a settled delivery and its attempts stay on
// the endpoint's page (Stripe keeps its webhook logs as long): long enough
// to debug a receiver, and the table no longer grows with every event the
// portal has ever had.
const WebhookRetention = 30 * 24 * time.Hour

// webhookPruneBatch bounds one run of the pruning job: it reads at most
// that many rows, so a backlog is worked off over runs, never in one long
// statement.
const webhookPruneBatch = 1000

// PruneWebhookDeliveries forgets settled deliveries older than
// WebhookRetention, for the housekeeping job.
func (s *Webhooks) PruneWebhookDeliveries(ctx context.Context) (int, error) {
	n, err := s.store.PruneWebhookDeliveries(ctx, s.clock.Now().Add(-WebhookRetention), webhookPruneBatch)
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return n, nil
}

// Webhooks registers endpoints and shows their deliveries.
type Webhooks struct {
	store   WebhookStore
	clock   Clock
	targets WebhookTargets
	// allowHTTP lets endpoints use plain http (an operator's choice, for
	// tests and closed networks).
	allowHTTP bool
}

// NewWebhooks wires Webhooks; targets checks each new endpoint's address
// (nil refuses every endpoint until SetWebhookTargets).
func NewWebhooks(store WebhookStore, clock Clock, targets WebhookTargets, allowHTTP bool) *Webhooks {
	return &Webhooks{store: store, clock: clock, targets: targets, allowHTTP: allowHTTP}
}

// SetWebhookTargets sets the check of new endpoints' addresses, and whether
// plain http is allowed.
func (s *Webhooks) SetWebhookTargets(t WebhookTargets, allowHTTP bool) {
	s.targets, s.allowHTTP = t, allowHTTP
}

// WebhookInput is the registration form, and the API's body.
type WebhookInput struct {
	URL        string
	Account    string // "" for the partner's own requests, else an SA id
	EventTypes []string
}

// NewWebhookSecret is a fresh signing secret: whsec_ and 32 random bytes in
// base64, as the specification's libraries expect.
func NewWebhookSecret() string {
	b := make([]byte, webhookSecretBytes)
	_, _ = rand.Read(b)
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// CheckWebhookURL is the form's rule for an endpoint's URL: absolute,
// https unless allowHTTP, a host, no credentials, no fragment, bounded.
func CheckWebhookURL(raw string, allowHTTP bool) (*url.URL, *FieldError) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return nil, &FieldError{Msg: "webhooks.error.url_required"}
	case len(raw) > MaxWebhookURLLength:
		return nil, &FieldError{Msg: "request.error.too_long", Args: []any{"Max", MaxWebhookURLLength}}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return nil, &FieldError{Msg: "webhooks.error.url_invalid"}
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !allowHTTP) {
		return nil, &FieldError{Msg: "webhooks.error.url_https"}
	}
	if u.User != nil || u.Fragment != "" {
		return nil, &FieldError{Msg: "webhooks.error.url_invalid"}
	}
	return u, nil
}

// CanSeeWebhook reports whether u may see and change endpoint e: its owner,
// and for an administrator's endpoint only while the owner still
// administers its account (admin).
func CanSeeWebhook(u User, e WebhookEndpoint, admin bool) bool {
	return e.OwnerID == u.ID && (e.Account == 0 || admin)
}

// CreateWebhook registers an endpoint for u; its secret is in the result.
func (s *Webhooks) CreateWebhook(ctx context.Context, u User, in WebhookInput) (WebhookEndpoint, error) {
	fe := FieldErrors{}
	target, urlErr := CheckWebhookURL(in.URL, s.allowHTTP)
	if urlErr != nil {
		fe["url"] = *urlErr
	}
	var account AccountID
	if a := strings.TrimSpace(in.Account); a != "" {
		id, err := ParseAccountID(a)
		if err != nil {
			fe["account"] = FieldError{Msg: "webhooks.error.account"}
		} else if err := s.administers(ctx, u, id); err != nil {
			if !errors.Is(err, ErrNotFound) {
				return WebhookEndpoint{}, err
			}
			fe["account"] = FieldError{Msg: "webhooks.error.account"}
		}
		account = id
	}
	types, typesErr := checkWebhookTypes(in.EventTypes, account)
	if typesErr != nil {
		fe["event_types"] = *typesErr
	}
	if len(fe) > 0 {
		return WebhookEndpoint{}, fe
	}
	if s.targets == nil {
		return WebhookEndpoint{}, errors.New("register webhook: no check of endpoint addresses is wired")
	}
	if err := s.targets.Check(ctx, target); err != nil {
		if errors.Is(err, ErrWebhookTargetPrivate) {
			return WebhookEndpoint{}, FieldErrors{"url": {Msg: "webhooks.error.url_private"}}
		}
		return WebhookEndpoint{}, FieldErrors{"url": {Msg: "webhooks.error.url_unresolved"}}
	}
	e := WebhookEndpoint{OwnerID: u.ID, Account: account, URL: target.String(), EventTypes: types,
		Secret: NewWebhookSecret(), CreatedAt: s.clock.Now()}
	e, err := s.store.CreateWebhookEndpoint(ctx, e, MaxWebhookEndpoints)
	if errors.Is(err, ErrConflict) {
		return WebhookEndpoint{}, FieldErrors{"url": {Msg: "webhooks.error.too_many", Args: []any{"Max", MaxWebhookEndpoints}}}
	}
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("register webhook for user %d: %w", u.ID, err)
	}
	return e, nil
}

// checkWebhookTypes keeps the chosen types in their order, once each; each
// must be one of the scope's.
func checkWebhookTypes(chosen []string, account AccountID) ([]WebhookEventType, *FieldError) {
	allowed := WebhookTypesFor(account)
	if len(chosen) == 0 {
		return nil, &FieldError{Msg: "webhooks.error.types_required"}
	}
	if len(chosen) > len(allowed) {
		return nil, &FieldError{Msg: "webhooks.error.types_invalid"}
	}
	var out []WebhookEventType
	for _, c := range allowed {
		if slices.Contains(chosen, string(c)) {
			out = append(out, c)
		}
	}
	for _, c := range chosen {
		if !slices.Contains(allowed, WebhookEventType(c)) {
			return nil, &FieldError{Msg: "webhooks.error.types_invalid"}
		}
	}
	return out, nil
}

// administers is nil when u administers account id, else ErrNotFound.
func (s *Webhooks) administers(ctx context.Context, u User, id AccountID) error {
	_, err := administered(ctx, s.store, u, id)
	return err
}

// WebhookEndpoints lists the endpoints u may see.
func (s *Webhooks) WebhookEndpoints(ctx context.Context, u User) ([]WebhookEndpoint, error) {
	all, err := s.store.WebhookEndpoints(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("webhooks of user %d: %w", u.ID, err)
	}
	var out []WebhookEndpoint
	admin := map[AccountID]bool{}
	for _, e := range all {
		if e.Account != 0 {
			if _, ok := admin[e.Account]; !ok {
				err := s.administers(ctx, u, e.Account)
				if err != nil && !errors.Is(err, ErrNotFound) {
					return nil, err
				}
				admin[e.Account] = err == nil
			}
		}
		if CanSeeWebhook(u, e, admin[e.Account]) {
			out = append(out, e)
		}
	}
	return out, nil
}

// WebhookEndpoint is one endpoint u may see; ErrNotFound otherwise.
func (s *Webhooks) WebhookEndpoint(ctx context.Context, u User, id int64) (WebhookEndpoint, error) {
	e, err := s.store.WebhookEndpoint(ctx, u.ID, id)
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("webhook %d: %w", id, err)
	}
	admin := false
	if e.Account != 0 {
		err := s.administers(ctx, u, e.Account)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return WebhookEndpoint{}, err
		}
		admin = err == nil
	}
	if !CanSeeWebhook(u, e, admin) {
		return WebhookEndpoint{}, fmt.Errorf("webhook %d: %w", id, ErrNotFound)
	}
	return e, nil
}

// DeleteWebhook removes one of u's endpoints and its deliveries.
func (s *Webhooks) DeleteWebhook(ctx context.Context, u User, id int64) error {
	if _, err := s.WebhookEndpoint(ctx, u, id); err != nil {
		return err
	}
	return s.store.DeleteWebhookEndpoint(ctx, u.ID, id, s.clock.Now())
}

// RotateWebhookSecret gives an endpoint a new secret; the old one signs
// beside it for WebhookRotationOverlap. The new secret is returned.
func (s *Webhooks) RotateWebhookSecret(ctx context.Context, u User, id int64) (string, error) {
	if _, err := s.WebhookEndpoint(ctx, u, id); err != nil {
		return "", err
	}
	secret, now := NewWebhookSecret(), s.clock.Now()
	if err := s.store.RotateWebhookSecret(ctx, u.ID, id, secret, now, now.Add(WebhookRotationOverlap)); err != nil {
		return "", fmt.Errorf("rotate webhook %d: %w", id, err)
	}
	return secret, nil
}

// WebhookDeliveries is an endpoint of u's with its newest deliveries.
func (s *Webhooks) WebhookDeliveries(ctx context.Context, u User, id int64) (WebhookEndpoint, []WebhookDelivery, error) {
	e, err := s.WebhookEndpoint(ctx, u, id)
	if err != nil {
		return WebhookEndpoint{}, nil, err
	}
	ds, err := s.store.WebhookDeliveries(ctx, id, MaxListedWebhookDeliveries)
	if err != nil {
		return WebhookEndpoint{}, nil, fmt.Errorf("deliveries of webhook %d: %w", id, err)
	}
	return e, ds, nil
}

// WebhookAttempts is one delivery of one of u's endpoints, with its attempts.
func (s *Webhooks) WebhookAttempts(ctx context.Context, u User, id, delivery int64) (WebhookEndpoint, WebhookDelivery, []WebhookAttempt, error) {
	e, err := s.WebhookEndpoint(ctx, u, id)
	if err != nil {
		return WebhookEndpoint{}, WebhookDelivery{}, nil, err
	}
	d, as, err := s.store.WebhookAttempts(ctx, id, delivery, MaxListedWebhookAttempts)
	if err != nil {
		return WebhookEndpoint{}, WebhookDelivery{}, nil, fmt.Errorf("delivery %d of webhook %d: %w", delivery, id, err)
	}
	return e, d, as, nil
}

// Redeliver sends a delivered or failed delivery again, with the same
// webhook-id and body, retried for WebhookRetryFor.
func (s *Webhooks) Redeliver(ctx context.Context, u User, id, delivery int64) error {
	if _, err := s.WebhookEndpoint(ctx, u, id); err != nil {
		return err
	}
	now := s.clock.Now()
	if err := s.store.RedeliverWebhook(ctx, u.ID, id, delivery, now, now.Add(WebhookRetryFor)); err != nil {
		return fmt.Errorf("redeliver %d of webhook %d: %w", delivery, id, err)
	}
	return nil
}
