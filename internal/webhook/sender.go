// Package webhook posts the portal's signed webhooks (Standard Webhooks):
// the worker that claims deliveries from the database, and the HTTP client
// that signs and posts them, which never reaches an internal address unless
// an operator allows it.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/clc-portal/clc/internal/account"
)

// Timeout bounds one attempt, from dialling to the last byte read: a slow
// endpoint holds a worker no longer.
const Timeout = 10 * time.Second

// Sign is the webhook-signature of one secret: "v1," and the base64
// HMAC-SHA256, keyed by the secret's bytes, of id.timestamp.body.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, account.WebhookSecretPrefix))
	if err != nil || len(key) == 0 {
		return "", errors.New("malformed webhook secret")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Signatures is the webhook-signature header: one signature per secret,
// space-separated, so a receiver that knows either verifies.
func Signatures(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, id, ts, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// ErrPrivateAddress: a connection to an internal address was refused.
var ErrPrivateAddress = errors.New("refused to connect to a loopback, private or link-local address")

// internal are the networks the portal never posts to, besides what
// netip.Addr's predicates name: shared address space (RFC 6598), "this
// network", benchmarking, and IPv4 embedded in the NAT64 prefix.
var internal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// Public reports whether ip is an address the portal may post to.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range internal {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Targets checks an endpoint's host when it is registered.
type Targets struct {
	// AllowPrivate lets endpoints resolve to internal addresses (an
	// operator's CLC_WEBHOOK_ALLOW_PRIVATE, for tests and closed networks).
	AllowPrivate bool
	Resolver     *net.Resolver
}

var _ account.WebhookTargets = Targets{}

// Check refuses a host that resolves to no public address.
func (t Targets) Check(ctx context.Context, u *url.URL) error {
	if t.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if !Public(ip) {
			return account.ErrWebhookTargetPrivate
		}
		return nil
	}
	r := t.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, ip := range ips {
		if Public(ip) {
			return nil
		}
	}
	return account.ErrWebhookTargetPrivate
}

// Sender posts deliveries.
type Sender struct {
	client *http.Client
}

// NewSender is a client whose every connection is checked, after DNS, in
// the dialer's Control: a name that resolved to a public address when the
// endpoint was registered and to an internal one now (DNS rebinding) is
// refused at the socket. It follows no redirect and uses no proxy.
func NewSender(allowPrivate bool, timeout time.Duration) *Sender {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !Public(ap.Addr()) {
			return fmt.Errorf("%w: %s", ErrPrivateAddress, address)
		}
		return nil
	}}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    5 * time.Second,
		ResponseHeaderTimeout:  timeout,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &Sender{client: &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Post signs q at now and posts it once; the attempt says what came back.
func (s *Sender) Post(ctx context.Context, q account.QueuedWebhook, now time.Time) account.WebhookAttempt {
	a := account.WebhookAttempt{Attempt: q.Attempts, At: now}
	body := []byte(q.Payload)
	sig, err := Signatures(q.Secrets, q.WebhookID, now, body)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = bounded(err.Error(), 1000)
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "CLC-Portal-Webhooks/1")
	req.Header.Set("webhook-id", q.WebhookID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		a.Duration = time.Since(start)
		a.Error = bounded(err.Error(), 1000)
		return a
	}
	defer resp.Body.Close()
	// Only what is kept is read: a body's length is the endpoint's to choose.
	b, _ := io.ReadAll(io.LimitReader(resp.Body, account.MaxWebhookResponseBody))
	a.Duration = time.Since(start)
	a.StatusCode = resp.StatusCode
	a.ResponseBody = bounded(string(b), account.MaxWebhookResponseBody)
	return a
}

// bounded is s as valid UTF-8 without NUL bytes, cut to at most n bytes on
// a character's boundary: what PostgreSQL's text takes.
func bounded(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Delivered says the endpoint took the delivery: any 2xx.
func Delivered(a account.WebhookAttempt) bool {
	return a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300
}
