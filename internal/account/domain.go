package account

import (
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Domain problems, worded for the person who typed the domain.
var (
	ErrDomainRequired   = errors.New("a domain is required")
	ErrDomainSyntax     = errors.New("enter a domain name such as example.com, without scheme, path, port or spaces")
	ErrDomainNotOwnable = errors.New("enter a domain an organisation can register, such as example.com, not a public suffix such as co.uk")
)

// maxDomainLength is DNS's limit on a name's text form.
const maxDomainLength = 253

// domainProfile is IDNA2008 lookup processing: it maps case and width, checks
// hyphens and bidi rules, and rejects what DNS could not carry.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// NormalizeDomain turns what a person typed ("Bücher.Example", "globex.example.")
// into the stored form: lowercase ASCII A-labels. It must be a registrable
// domain or below one by the public suffix list.
func NormalizeDomain(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrDomainRequired
	}
	// Invalid UTF-8 would reach IDNA as U+FFFD and come out as a label no
	// one typed (found by FuzzNormalizeDomain).
	if !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n/:?#@\\") || strings.HasPrefix(s, ".") {
		return "", ErrDomainSyntax
	}
	s = strings.TrimSuffix(s, ".")
	a, err := domainProfile.ToASCII(s)
	if err != nil || a == "" || len(a) > maxDomainLength || !strings.Contains(a, ".") {
		return "", ErrDomainSyntax
	}
	a = strings.ToLower(a)
	// The stored form must read back as itself, or two spellings of one
	// domain could become two accounts.
	if again, err := domainProfile.ToASCII(a); err != nil || again != a {
		return "", ErrDomainSyntax
	}
	// The list's ICANN section decides what an organisation can own; a
	// private-section suffix (github.io) still counts as registrable below it.
	if _, err := publicsuffix.EffectiveTLDPlusOne(a); err != nil {
		return "", ErrDomainNotOwnable
	}
	return a, nil
}

// DisplayDomain shows a stored domain as people write it (U-labels).
func DisplayDomain(ascii string) string {
	u, err := idna.Display.ToUnicode(ascii)
	if err != nil {
		return ascii
	}
	return u
}

// Under reports whether domain is parent or one of its subdomains.
func Under(domain, parent string) bool {
	return parent != "" && (domain == parent || strings.HasSuffix(domain, "."+parent))
}
