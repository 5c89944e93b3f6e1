package account

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestNormalizeDomain(t *testing.T) {
	good := map[string]string{
		"Example.COM":         "example.com",
		"emea.globex.example": "emea.globex.example",
		"bücher.example":      "xn--bcher-kva.example",
		"BÜCHER.example.":     "xn--bcher-kva.example",
		"foo.co.uk":           "foo.co.uk",
		" spaced.example ":    "spaced.example",
		"user.github.io":      "user.github.io",
	}
	for in, want := range good {
		got, err := NormalizeDomain(in)
		if err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]error{
		"":                        ErrDomainRequired,
		"http://example.com":      ErrDomainSyntax,
		"example.com/path":        ErrDomainSyntax,
		"example.com:8080":        ErrDomainSyntax,
		"exa mple.com":            ErrDomainSyntax,
		"a..example":              ErrDomainSyntax,
		".example.com":            ErrDomainSyntax,
		"localhost":               ErrDomainSyntax,
		"-bad-.example":           ErrDomainSyntax,
		"user@example.com":        ErrDomainSyntax,
		"co.uk":                   ErrDomainNotOwnable,
		"com":                     ErrDomainSyntax,
		"github.io":               ErrDomainNotOwnable,
		string(make([]byte, 300)): ErrDomainSyntax,
		"\x82.example":            ErrDomainSyntax, // invalid UTF-8: IDNA made it xn--zn7c
		"xn--zn7c.example":        ErrDomainSyntax, // U+FFFD is no letter of a name
	}
	for in, want := range bad {
		if _, err := NormalizeDomain(in); !errors.Is(err, want) {
			t.Errorf("NormalizeDomain(%q) = %v, want %v", in, err, want)
		}
	}
	if got := DisplayDomain("xn--bcher-kva.example"); got != "bücher.example" {
		t.Errorf("DisplayDomain = %q", got)
	}
}

func TestSplitEmails(t *testing.T) {
	got := SplitEmails("a@x.example, b@x.example;c@x.example\nA@X.example  d@x.example\r\n;;", 10)
	want := []string{"a@x.example", "b@x.example", "c@x.example", "d@x.example"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// A field far over its limit is read only up to the address past the
// limit: the rest costs nothing, however long it is.
func TestSplitEmailsStopsPastTheLimit(t *testing.T) {
	got := SplitEmails("a@x.example,A@x.example,b@x.example,c@x.example,d@x.example", 2)
	if want := []string{"a@x.example", "b@x.example", "c@x.example"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("SplitEmails(…, 2) = %q, want %q (the limit and one more, repeats not counted)", got, want)
	}

	var head []string
	for i := range MaxCustomerEmails + 1 {
		head = append(head, fmt.Sprintf("approver%d@globex.example", i))
	}
	// Ten megabytes of upper case after the addresses: lowering it to look
	// for a repeat, or splitting it, would allocate megabytes.
	huge := strings.Join(head, ",") + "," + strings.Repeat("X@Y.EXAMPLE,", 10<<20/12)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got = SplitEmails(huge, MaxCustomerEmails)
	runtime.ReadMemStats(&after)
	if len(got) != MaxCustomerEmails+1 {
		t.Fatalf("got %d addresses, want %d (the limit and one more)", len(got), MaxCustomerEmails+1)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("splitting allocated %d bytes: the part past the limit was read", n)
	}
}

func TestUnder(t *testing.T) {
	for _, c := range []struct {
		domain, parent string
		want           bool
	}{
		{"partner.example", "partner.example", true},
		{"emea.partner.example", "partner.example", true},
		{"notpartner.example", "partner.example", false},
		{"partner.example", "emea.partner.example", false},
		{"partner.example", "", false},
	} {
		if got := Under(c.domain, c.parent); got != c.want {
			t.Errorf("Under(%q, %q) = %v", c.domain, c.parent, got)
		}
	}
}
