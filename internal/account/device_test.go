package account

import (
	"strings"
	"testing"
)

func TestDeviceTokens(t *testing.T) {
	key := NewDeviceKey([]byte("0123456789abcdef0123456789abcdef"))
	token := key.Issue(42)
	d, ok := key.Check(token)
	if !ok || d.UserID != 42 || d.Nonce == "" {
		t.Fatalf("Check(Issue(42)) = %+v, %v", d, ok)
	}
	if again := key.Issue(42); again == token {
		t.Error("two tokens for one user are the same: each device needs its own nonce")
	}
	parts := strings.Split(token, ".")
	other := NewDeviceKey([]byte("another secret, just as long as the first"))
	for name, bad := range map[string]string{
		"empty":             "",
		"another key's":     other.Issue(42),
		"another user":      "43." + parts[1] + "." + parts[2],
		"another nonce":     parts[0] + ".AAAA." + parts[2],
		"no signature":      parts[0] + "." + parts[1],
		"empty signature":   parts[0] + "." + parts[1] + ".",
		"not a number":      "x." + parts[1] + "." + key.sign("x."+parts[1]),
		"signed, no nonce":  "42." + "." + key.sign("42."),
		"signed, user zero": "0.n." + key.sign("0.n"),
		"too long":          strings.Repeat("1", 300),
	} {
		if d, ok := key.Check(bad); ok {
			t.Errorf("%s token accepted as %+v", name, d)
		}
	}
	if _, ok := (DeviceKey{}).Check(token); ok {
		t.Error("a zero key accepts tokens")
	}
}

func TestSignInThrottleKeys(t *testing.T) {
	ada := Device{UserID: 7, Nonce: "n1"}
	keys := func(k []ThrottleKey) string {
		var out []string
		for _, k := range k {
			s := k.Key
			if k.Shared {
				s += " (shared)"
			}
			out = append(out, s)
		}
		return strings.Join(out, ", ")
	}
	for _, c := range []struct {
		name     string
		userID   int64
		client   string
		device   Device
		deviceOK bool
		want     string
	}{
		{"no device", 7, "192.0.2.1", Device{}, false, "client:192.0.2.1 email:ada@p.example, client:192.0.2.1 (shared)"},
		{"the user's device", 7, "192.0.2.1", ada, true, "device:7:n1"},
		{"another user's device", 8, "192.0.2.1", ada, true, "client:192.0.2.1 email:ada@p.example, client:192.0.2.1 (shared)"},
		{"a device, no such user", 0, "192.0.2.1", Device{Nonce: "n1"}, true, "client:192.0.2.1 email:ada@p.example, client:192.0.2.1 (shared)"},
		{"unchecked device", 7, "192.0.2.1", ada, false, "client:192.0.2.1 email:ada@p.example, client:192.0.2.1 (shared)"},
		{"IPv6 counts by /64", 7, "2001:db8:1:2:aaaa::1", Device{}, false, "client:2001:db8:1:2::/64 email:ada@p.example, client:2001:db8:1:2::/64 (shared)"},
		{"IPv4 in IPv6 stays itself", 7, "::ffff:192.0.2.1", Device{}, false, "client:::ffff:192.0.2.1 email:ada@p.example, client:::ffff:192.0.2.1 (shared)"},
	} {
		if got := keys(SignInThrottleKeys("ada@p.example", c.userID, c.client, c.device, c.deviceOK)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
