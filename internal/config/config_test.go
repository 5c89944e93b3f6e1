package config

import (
	"net/netip"
	"testing"
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
