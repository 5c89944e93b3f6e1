package account

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// The parsers below take what strangers type or send. Their fuzz targets
// check properties that must hold for every input, not examples: the corpus
// in testdata/fuzz keeps the inputs that found something, and `make fuzz`
// looks for more.

func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"globex.example", "Bücher.Example.", "emea.globex.example", "co.uk", "xn--bcher-kva.example",
		" a.b ", "a..b", "-a.example", "a.example:80", "ÄÖÜ.de", "\u200d.example", strings.Repeat("a.", 130) + "example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := NormalizeDomain(s)
		if err != nil {
			if d != "" {
				t.Fatalf("NormalizeDomain(%q) = %q with error %v", s, d, err)
			}
			return
		}
		if len(d) > maxDomainLength || !strings.Contains(d, ".") {
			t.Fatalf("NormalizeDomain(%q) = %q: not a bounded dotted name", s, d)
		}
		for _, r := range d {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
				t.Fatalf("NormalizeDomain(%q) = %q: stored form must be lowercase ASCII LDH", s, d)
			}
		}
		// The stored form is a fixed point: storing it again changes nothing,
		// so two spellings of one domain can never be two accounts.
		again, err := NormalizeDomain(d)
		if err != nil || again != d {
			t.Fatalf("NormalizeDomain(%q) = %q, but NormalizeDomain(%q) = %q, %v", s, d, d, again, err)
		}
		// What is shown maps back to what is stored.
		if back, err := NormalizeDomain(DisplayDomain(d)); err != nil || back != d {
			t.Fatalf("DisplayDomain(%q) = %q normalizes to %q, %v", d, DisplayDomain(d), back, err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ada@northwind-partners.example", "Ada@Globex.Example", "a@b", "Name <a@b.example>", "a@@b.example",
		"\"quoted local\"@globex.example", "a@bücher.example", "a@co.uk", "a.b+tag@globex.example", strings.Repeat("x", 250) + "@a.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := NormalizeEmail(s)
		if err != nil {
			return
		}
		if len(e) > MaxEmailLength || e != strings.ToLower(e) || !utf8.ValidString(e) {
			t.Fatalf("NormalizeEmail(%q) = %q: not a bounded lowercase address", s, e)
		}
		if strings.ContainsAny(e, " \t\r\n<>,;") {
			t.Fatalf("NormalizeEmail(%q) = %q: holds a separator of SplitEmails or a display-name character", s, e)
		}
		if again, err := NormalizeEmail(e); err != nil || again != e {
			t.Fatalf("NormalizeEmail(%q) = %q, but again gives %q, %v", s, e, again, err)
		}
		if _, err := NormalizeDomain(EmailDomain(e)); err != nil {
			t.Fatalf("NormalizeEmail(%q) = %q whose domain %q does not normalize: %v", s, e, EmailDomain(e), err)
		}
	})
}

func FuzzSplitEmails(f *testing.F) {
	for _, s := range []string{"a@b.example, c@d.example", "a@b.example;A@B.example\nc@d.example", " ,;\n", "", "x\ty\r\nz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list := SplitEmails(s, len(s))
		seen := map[string]bool{}
		for _, e := range list {
			if e == "" || strings.ContainsAny(e, ",; \t\r\n") {
				t.Fatalf("SplitEmails(%q) gave %q", s, e)
			}
			if seen[strings.ToLower(e)] {
				t.Fatalf("SplitEmails(%q) repeats %q", s, e)
			}
			seen[strings.ToLower(e)] = true
			if !strings.Contains(s, e) {
				t.Fatalf("SplitEmails(%q) invented %q", s, e)
			}
		}
		// Joining the list with one separator splits back to itself.
		if again := SplitEmails(strings.Join(list, ","), len(s)); strings.Join(again, ",") != strings.Join(list, ",") {
			t.Fatalf("SplitEmails is not stable: %q then %q", list, again)
		}
	})
}

func FuzzParseAccountID(f *testing.F) {
	for _, s := range []string{"SA-000123", "sa-1", "123", "SA-", "SA--1", "0", "SA-99999999999999999999", " SA-7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseAccountID(s)
		if err != nil {
			return
		}
		if id <= 0 {
			t.Fatalf("ParseAccountID(%q) = %d", s, id)
		}
		if back, err := ParseAccountID(id.String()); err != nil || back != id {
			t.Fatalf("ParseAccountID(%q) = %v, whose String %q parses to %v, %v", s, id, id.String(), back, err)
		}
	})
}

func FuzzWellFormedToken(f *testing.F) {
	f.Add(randomToken(tokenBytes))
	for _, s := range []string{"", "short", strings.Repeat("A", 43), strings.Repeat("A", 42) + "=", strings.Repeat("é", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !wellFormedToken(s) {
			return
		}
		// A well-formed token is exactly what randomToken makes: 43 bytes of
		// the URL alphabet, safe in a path segment without escaping.
		if len(s) != 43 {
			t.Fatalf("wellFormedToken accepted %d bytes", len(s))
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("wellFormedToken accepted %q", s)
			}
		}
		if len(HashToken(s)) != 32 {
			t.Fatalf("HashToken(%q) is not a SHA-256", s)
		}
	})
}

// The generator and the parser agree: every token we mint is well formed.
func TestRandomTokensAreWellFormed(t *testing.T) {
	for i := 0; i < 1000; i++ {
		if tok := randomToken(tokenBytes); !wellFormedToken(tok) {
			t.Fatalf("randomToken made %q, which wellFormedToken refuses", tok)
		}
	}
}
