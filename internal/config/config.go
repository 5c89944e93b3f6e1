// Package config reads the portal's settings from the environment.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is every setting the portal reads from its environment.
type Config struct {
	Addr        string // CLC_ADDR: where serve listens
	DatabaseURL string // DATABASE_URL
	ReplicaURL  string // DATABASE_REPLICA_URL: optional; a streaming replica for search and the directory
	// LockDatabaseURL (CLC_LOCK_DATABASE_URL) is a direct connection to the
	// database, for the worker's lock alone, when DATABASE_URL is a pooler:
	// a session-level lock means nothing through transaction pooling.
	// Empty, the lock is taken over DATABASE_URL.
	LockDatabaseURL string
	SMTP            SMTP // SMTP_URL
	BaseURL         *url.URL
	MailFrom        string // CLC_MAIL_FROM
	// SessionIdle and SessionLifetime bound a sign-in: idle is reset by each
	// request, lifetime is absolute.
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// TrustedProxies (CLC_TRUSTED_PROXIES) are the addresses whose
	// X-Forwarded-For names the client; from any other address the header
	// is ignored, so a client cannot choose its own address.
	TrustedProxies []netip.Prefix
	// MailLease (CLC_MAIL_LEASE) is how long an email a worker claimed stays
	// its own while the worker lives: the rescue of a worker that is stuck.
	// A worker that dies frees its claims at once (its lock goes with its
	// session). It must outlast one batch's delivery, or a slow send is
	// sent twice.
	MailLease time.Duration
	// ShutdownDrain (CLC_SHUTDOWN_DRAIN) is how long serve, once told to
	// stop, keeps serving while /readyz answers 503, so a load balancer
	// stops sending before the listener closes: a connection that reaches a
	// closed listener's queue is reset, whatever the server does.
	ShutdownDrain time.Duration
	// MaxInFlight (CLC_MAX_IN_FLIGHT) is how many page and API requests
	// are served at once; 0, the default, is the database pool's size.
	MaxInFlight int
	// AdmissionWait (CLC_ADMISSION_WAIT) is how long a request may wait for
	// a place among them before it is refused with 503 and Retry-After.
	AdmissionWait time.Duration
	// UserEmailsPerDay (CLC_USER_EMAILS_PER_DAY) bounds the emails one
	// user's actions may cause in a UTC day; 0 keeps the portal's default.
	UserEmailsPerDay int
	// ReminderDays (CLC_REMINDER_DAYS) are the days before expiry a
	// request's approvers are reminded; empty keeps the portal's default
	// (30, 7 and 1).
	ReminderDays []int
	// OpsAddr (CLC_OPS_ADDR) is where the operators' listener serves the
	// process's internals (profiles); empty, the default, serves none. A
	// bare ":port" is on loopback: internals are nobody's business but the
	// host's unless the operator names another host.
	OpsAddr string
	// DeviceKey (CLC_DEVICE_KEY) signs the device cookies that spare a
	// user's own browsers the sign-in blocks others cause. Unset, serve
	// makes one and keeps it in the database, shared by every process.
	DeviceKey []byte
	// OIDC (CLC_OIDC_*) is the company's OpenID provider for single sign-on;
	// its zero value (no issuer) offers password sign-in only.
	OIDC OIDC
	// WebhookAllowPrivate (CLC_WEBHOOK_ALLOW_PRIVATE=1) lets webhook
	// endpoints use plain http and loopback, private or link-local
	// addresses: for tests and closed networks only, since it lets users
	// make the portal post into the company's network.
	WebhookAllowPrivate bool
	// WebhookRetryBase (CLC_WEBHOOK_RETRY_BASE) is the wait after a
	// webhook's first failed attempt, doubling per attempt up to an hour.
	WebhookRetryBase time.Duration
}

// OIDC is the OpenID provider the portal signs users in through.
type OIDC struct {
	Issuer       string // CLC_OIDC_ISSUER: the provider's issuer URL, as its discovery document names it
	ClientID     string // CLC_OIDC_CLIENT_ID
	ClientSecret string // CLC_OIDC_CLIENT_SECRET
	// Name (CLC_OIDC_NAME) is the provider as the sign-in button names it.
	Name string
}

// String masks the secret so the value can be logged.
func (o OIDC) String() string {
	if o.Issuer == "" {
		return "none"
	}
	return fmt.Sprintf("%s (client %s, secret ***, %q)", o.Issuer, o.ClientID, o.Name)
}

// SMTP is the parsed SMTP_URL.
type SMTP struct {
	Host        string
	Port        int
	Username    string
	Password    string
	ImplicitTLS bool // smtps://
}

// String masks the password so the value can be logged.
func (s SMTP) String() string {
	scheme := "smtp"
	if s.ImplicitTLS {
		scheme = "smtps"
	}
	user := ""
	if s.Username != "" {
		user = s.Username + ":***@"
	}
	return fmt.Sprintf("%s://%s%s", scheme, user, net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))
}

// Load reads the environment through getenv, applies defaults and validates.
// need lists which settings the calling command requires.
func Load(getenv func(string) string, need Need) (Config, error) {
	c := Config{
		Addr:            getenv("CLC_ADDR"),
		DatabaseURL:     getenv("DATABASE_URL"),
		ReplicaURL:      getenv("DATABASE_REPLICA_URL"),
		LockDatabaseURL: getenv("CLC_LOCK_DATABASE_URL"),
		MailFrom:        getenv("CLC_MAIL_FROM"),
		SessionIdle:     2 * time.Hour,
		SessionLifetime: 12 * time.Hour,
		AdmissionWait:   50 * time.Millisecond,
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.MailFrom == "" {
		c.MailFrom = "Cisco License Central <no-reply@clc.localhost>"
	}
	if c.DatabaseURL == "" {
		return c, errors.New("DATABASE_URL is not set (e.g. postgres://user@127.0.0.1:5432/clc)")
	}
	for name, v := range map[string]string{"DATABASE_URL": c.DatabaseURL, "DATABASE_REPLICA_URL": c.ReplicaURL, "CLC_LOCK_DATABASE_URL": c.LockDatabaseURL} {
		if _, err := url.Parse(v); v != "" && (err != nil || !strings.HasPrefix(v, "postgres")) {
			return c, fmt.Errorf("%s is malformed: want postgres://user:pass@host:port/db", name)
		}
	}
	if !need.Web && !need.SMTP {
		return c, nil
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return c, fmt.Errorf("CLC_ADDR %q is malformed: want host:port", c.Addr)
	}
	base := getenv("CLC_BASE_URL")
	if base == "" {
		host, port, _ := net.SplitHostPort(c.Addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return c, fmt.Errorf("CLC_BASE_URL %q is malformed: want an origin such as https://clc.example.com", base)
	}
	u.Path = ""
	c.BaseURL = u
	if c.TrustedProxies, err = ParseProxies(getenv("CLC_TRUSTED_PROXIES")); err != nil {
		return c, err
	}
	if raw := getenv("CLC_USER_EMAILS_PER_DAY"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 1_000_000 {
			return c, fmt.Errorf("CLC_USER_EMAILS_PER_DAY %q is malformed: want a number from 1 to 1000000", raw)
		}
		c.UserEmailsPerDay = n
	}
	if raw := getenv("CLC_REMINDER_DAYS"); raw != "" {
		if c.ReminderDays, err = ParseReminderDays(raw); err != nil {
			return c, err
		}
	}
	if raw := getenv("CLC_SHUTDOWN_DRAIN"); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 || d > time.Minute {
			return c, fmt.Errorf("CLC_SHUTDOWN_DRAIN %q is malformed: want a duration from 0s to 1m, such as 5s", raw)
		}
		c.ShutdownDrain = d
	}
	if raw := getenv("CLC_MAX_IN_FLIGHT"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 100_000 {
			return c, fmt.Errorf("CLC_MAX_IN_FLIGHT %q is malformed: want a number from 1 to 100000", raw)
		}
		c.MaxInFlight = n
	}
	if raw := getenv("CLC_ADMISSION_WAIT"); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 || d > 10*time.Second {
			return c, fmt.Errorf("CLC_ADMISSION_WAIT %q is malformed: want a duration from 0s to 10s, such as 50ms", raw)
		}
		c.AdmissionWait = d
	}
	switch raw := getenv("CLC_WEBHOOK_ALLOW_PRIVATE"); raw {
	case "", "0", "false":
	case "1", "true":
		c.WebhookAllowPrivate = true
	default:
		return c, fmt.Errorf("CLC_WEBHOOK_ALLOW_PRIVATE %q is malformed: want 1 or 0", raw)
	}
	c.WebhookRetryBase = 30 * time.Second
	if raw := getenv("CLC_WEBHOOK_RETRY_BASE"); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < 100*time.Millisecond || d > time.Hour {
			return c, fmt.Errorf("CLC_WEBHOOK_RETRY_BASE %q is malformed: want a duration from 100ms to 1h, such as 30s", raw)
		}
		c.WebhookRetryBase = d
	}
	if c.OpsAddr, err = parseOpsAddr(getenv("CLC_OPS_ADDR")); err != nil {
		return c, err
	}
	if raw := getenv("CLC_DEVICE_KEY"); raw != "" {
		if len(raw) < minDeviceKey {
			return c, fmt.Errorf("CLC_DEVICE_KEY is too short: want at least %d characters, such as the output of `openssl rand -base64 32`", minDeviceKey)
		}
		c.DeviceKey = []byte(raw)
	}
	if c.OIDC, err = parseOIDC(getenv); err != nil {
		return c, err
	}
	if need.SMTP {
		raw := getenv("SMTP_URL")
		if raw == "" {
			return c, errors.New("SMTP_URL is not set (e.g. smtp://127.0.0.1:1025 or smtps://user:pass@mail.example.com:465)")
		}
		s, err := ParseSMTPURL(raw)
		if err != nil {
			return c, err
		}
		c.SMTP = s
		c.MailLease = 2 * time.Minute
		if raw := getenv("CLC_MAIL_LEASE"); raw != "" {
			d, err := time.ParseDuration(raw)
			if err != nil || d < time.Second {
				return c, fmt.Errorf("CLC_MAIL_LEASE %q is malformed: want a duration of 1s or more, such as 2m", raw)
			}
			c.MailLease = d
		}
	}
	return c, nil
}

// maxOIDCName bounds the provider's name on the button.
const maxOIDCName = 60

// parseOIDC reads the provider's settings: none, or all of issuer, client
// id and secret. The issuer is https, or http on loopback (a provider on
// the same host, for development and tests): its keys and tokens must not
// cross a network in clear.
func parseOIDC(getenv func(string) string) (OIDC, error) {
	o := OIDC{
		Issuer:       strings.TrimSpace(getenv("CLC_OIDC_ISSUER")),
		ClientID:     strings.TrimSpace(getenv("CLC_OIDC_CLIENT_ID")),
		ClientSecret: getenv("CLC_OIDC_CLIENT_SECRET"),
		Name:         strings.TrimSpace(getenv("CLC_OIDC_NAME")),
	}
	if o.Issuer == "" && o.ClientID == "" && o.ClientSecret == "" {
		return OIDC{}, nil
	}
	if o.Issuer == "" || o.ClientID == "" || o.ClientSecret == "" {
		return OIDC{}, errors.New("CLC_OIDC_ISSUER, CLC_OIDC_CLIENT_ID and CLC_OIDC_CLIENT_SECRET go together: set all three, or none")
	}
	u, err := url.Parse(o.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		(u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return OIDC{}, fmt.Errorf("CLC_OIDC_ISSUER %q is malformed: want an https URL such as https://login.example.com (http only on loopback)", o.Issuer)
	}
	if o.Name == "" {
		o.Name = "SSO"
	}
	if len([]rune(o.Name)) > maxOIDCName {
		return OIDC{}, fmt.Errorf("CLC_OIDC_NAME is too long: want at most %d characters", maxOIDCName)
	}
	return o, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// minDeviceKey is the shortest CLC_DEVICE_KEY: 32 characters of base64
// carry 192 bits, beyond guessing.
const minDeviceKey = 32

func parseOpsAddr(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(raw)
	if err != nil || port == "" {
		return "", fmt.Errorf("CLC_OPS_ADDR %q is malformed: want host:port or :port", raw)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// OpsOnLoopback reports whether the operators' listener is reachable only
// from this host; serve warns when it is not.
func (c Config) OpsOnLoopback() bool {
	host, _, err := net.SplitHostPort(c.OpsAddr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// ParseProxies parses a comma-separated list of addresses and CIDR ranges.
func ParseProxies(raw string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("CLC_TRUSTED_PROXIES: %q is neither an address nor a CIDR range", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Need says which settings a command requires beyond the database.
type Need struct {
	Web  bool // listens and builds links
	SMTP bool // sends mail
}

// ParseSMTPURL parses smtp://[user:pass@]host:port (STARTTLS when offered)
// or smtps://… (implicit TLS).
func ParseSMTPURL(raw string) (SMTP, error) {
	bad := func(why string) (SMTP, error) {
		return SMTP{}, fmt.Errorf("SMTP_URL is malformed: %s; want smtp://[user:pass@]host:port or smtps://…", why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("cannot parse")
	}
	var s SMTP
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.ImplicitTLS = true
	default:
		return bad(fmt.Sprintf("scheme %q", u.Scheme))
	}
	s.Host = u.Hostname()
	if s.Host == "" {
		return bad("no host")
	}
	port := u.Port()
	switch {
	case port != "":
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return bad("bad port")
		}
		s.Port = p
	case s.ImplicitTLS:
		s.Port = 465
	default:
		s.Port = 587
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// ParseReminderDays reads CLC_REMINDER_DAYS: days before expiry, separated
// by commas, each from 1 to 89 (a request lives 90 days), at most 10.
func ParseReminderDays(raw string) ([]int, error) {
	bad := fmt.Errorf("CLC_REMINDER_DAYS %q is malformed: want days before expiry from 1 to 89, separated by commas, such as 30,7,1", raw)
	parts := strings.Split(raw, ",")
	if len(parts) > 10 {
		return nil, bad
	}
	var days []int
	for _, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > 89 {
			return nil, bad
		}
		days = append(days, n)
	}
	return days, nil
}
