package config

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseProxies(t *testing.T) {
	got, err := ParseProxies(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32")}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %v, want %v", i, got[i], want[i])
		}
	}
	if p, err := ParseProxies(""); err != nil || p != nil {
		t.Errorf("empty: %v %v", p, err)
	}
	for _, bad := range []string{"proxy.example", "10.0.0.0/33", "10.0.0"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFaultSettings(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "SMTP_URL": "smtp://127.0.0.1:1025"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	need := Need{Web: true, SMTP: true}
	c, err := Load(env(), need)
	if err != nil || c.MailLease != 2*time.Minute || c.ShutdownDrain != 0 || c.MaxInFlight != 0 || c.AdmissionWait != 50*time.Millisecond {
		t.Fatalf("defaults: lease %v, drain %v, in flight %d, wait %v, %v", c.MailLease, c.ShutdownDrain, c.MaxInFlight, c.AdmissionWait, err)
	}
	c, err = Load(env("CLC_MAIL_LEASE", "5s", "CLC_SHUTDOWN_DRAIN", "10s", "CLC_MAX_IN_FLIGHT", "8", "CLC_ADMISSION_WAIT", "20ms"), need)
	if err != nil || c.MailLease != 5*time.Second || c.ShutdownDrain != 10*time.Second || c.MaxInFlight != 8 || c.AdmissionWait != 20*time.Millisecond {
		t.Fatalf("set: lease %v, drain %v, in flight %d, wait %v, %v", c.MailLease, c.ShutdownDrain, c.MaxInFlight, c.AdmissionWait, err)
	}
	for _, bad := range [][]string{
		{"CLC_MAIL_LEASE", "soon"}, {"CLC_MAIL_LEASE", "10ms"},
		{"CLC_SHUTDOWN_DRAIN", "-1s"}, {"CLC_SHUTDOWN_DRAIN", "1h"},
		{"CLC_MAX_IN_FLIGHT", "0"}, {"CLC_MAX_IN_FLIGHT", "many"}, {"CLC_ADMISSION_WAIT", "-1ms"}, {"CLC_ADMISSION_WAIT", "1m"},
	} {
		if _, err := Load(env(bad...), need); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%s=%s: %v, want a refusal naming it", bad[0], bad[1], err)
		}
	}
}

// The operators' listener is off unless set, and on loopback unless a host
// is named; a named host that is not loopback is the operator's choice, which
// serve warns about.
func TestOpsAddr(t *testing.T) {
	load := func(v string) (Config, error) {
		m := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "CLC_OPS_ADDR": v}
		return Load(func(k string) string { return m[k] }, Need{Web: true})
	}
	for _, c := range []struct {
		in, want string
		loopback bool
	}{
		{"", "", false},
		{":6060", "127.0.0.1:6060", true},
		{"127.0.0.1:0", "127.0.0.1:0", true},
		{"[::1]:6060", "[::1]:6060", true},
		{"localhost:6060", "localhost:6060", true},
		{"0.0.0.0:6060", "0.0.0.0:6060", false},
		{"10.1.2.3:6060", "10.1.2.3:6060", false},
	} {
		got, err := load(c.in)
		if err != nil || got.OpsAddr != c.want || got.OpsOnLoopback() != c.loopback {
			t.Errorf("CLC_OPS_ADDR=%q: addr %q loopback %v (%v), want %q %v", c.in, got.OpsAddr, got.OpsOnLoopback(), err, c.want, c.loopback)
		}
	}
	for _, bad := range []string{"6060", "host:", "::"} {
		if _, err := load(bad); err == nil || !strings.Contains(err.Error(), "CLC_OPS_ADDR") {
			t.Errorf("CLC_OPS_ADDR=%q: %v, want a refusal naming it", bad, err)
		}
	}
}

// CLC_DEVICE_KEY is optional (serve then keeps one in the database) and,
// when given, long enough not to be guessed; its value is never in an error.
func TestDeviceKey(t *testing.T) {
	load := func(v string) (Config, error) {
		m := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "CLC_DEVICE_KEY": v}
		return Load(func(k string) string { return m[k] }, Need{Web: true})
	}
	if c, err := load(""); err != nil || c.DeviceKey != nil {
		t.Errorf("unset: %q %v", c.DeviceKey, err)
	}
	key := "q2Y0Zq8dJ3m1x8vB5uR6wN9tK4pL7sA0cE2fG3hI5jM="
	if c, err := load(key); err != nil || string(c.DeviceKey) != key {
		t.Errorf("set: %q %v", c.DeviceKey, err)
	}
	if _, err := load("hunter2"); err == nil || !strings.Contains(err.Error(), "CLC_DEVICE_KEY") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("short key: %v, want a refusal naming the setting and not the value", err)
	}
}

func TestReminderDays(t *testing.T) {
	load := func(v string) (Config, error) {
		m := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "CLC_REMINDER_DAYS": v}
		return Load(func(k string) string { return m[k] }, Need{Web: true})
	}
	if c, err := load(""); err != nil || c.ReminderDays != nil {
		t.Errorf("unset: %v %v, want the default (none)", c.ReminderDays, err)
	}
	if c, err := load("14, 3"); err != nil || fmt.Sprint(c.ReminderDays) != "[14 3]" {
		t.Errorf("14, 3: %v %v", c.ReminderDays, err)
	}
	for _, bad := range []string{"0", "90", "x", "7,,1", "1,2,3,4,5,6,7,8,9,10,11"} {
		if _, err := load(bad); err == nil || !strings.Contains(err.Error(), "CLC_REMINDER_DAYS") {
			t.Errorf("CLC_REMINDER_DAYS=%q: %v, want a refusal naming it", bad, err)
		}
	}
}

func TestOIDCSettings(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := Load(env(), Need{Web: true})
	if err != nil || c.OIDC.Issuer != "" {
		t.Fatalf("none set: %+v %v", c.OIDC, err)
	}
	c, err = Load(env("CLC_OIDC_ISSUER", "https://login.example.com", "CLC_OIDC_CLIENT_ID", "clc", "CLC_OIDC_CLIENT_SECRET", "s3cret", "CLC_OIDC_NAME", "Company login"), Need{Web: true})
	if err != nil || c.OIDC.Issuer != "https://login.example.com" || c.OIDC.Name != "Company login" {
		t.Fatalf("all set: %+v %v", c.OIDC, err)
	}
	if strings.Contains(c.OIDC.String(), "s3cret") {
		t.Errorf("the secret is logged: %s", c.OIDC)
	}
	if c, err = Load(env("CLC_OIDC_ISSUER", "http://127.0.0.1:9000", "CLC_OIDC_CLIENT_ID", "clc", "CLC_OIDC_CLIENT_SECRET", "s"), Need{Web: true}); err != nil || c.OIDC.Name != "SSO" {
		t.Errorf("http on loopback: %+v %v", c.OIDC, err)
	}
	for _, bad := range [][]string{
		{"CLC_OIDC_ISSUER", "https://login.example.com"},
		{"CLC_OIDC_ISSUER", "http://login.example.com", "CLC_OIDC_CLIENT_ID", "clc", "CLC_OIDC_CLIENT_SECRET", "s"},
		{"CLC_OIDC_ISSUER", "login.example.com", "CLC_OIDC_CLIENT_ID", "clc", "CLC_OIDC_CLIENT_SECRET", "s"},
		{"CLC_OIDC_ISSUER", "https://login.example.com", "CLC_OIDC_CLIENT_ID", "clc", "CLC_OIDC_CLIENT_SECRET", "s", "CLC_OIDC_NAME", strings.Repeat("n", 61)},
	} {
		if _, err := Load(env(bad...), Need{Web: true}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
