package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// ASVS 1.2.1, 1.2.4, 3.2.2: markup in stored data is shown as text, never
// run, and SQL or LIKE metacharacters in a query are only characters.
func TestMarkupAndSQLInInputAreOnlyText(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	a.account("Partner", "partner.example", "ada@partner.example")
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	sa := a.account("Evil "+evil, "evil.example")
	a.restricted("Hidden Holdings", "hidden.example")
	b := a.signedIn("ada@partner.example")

	for _, path := range []string{"/clc/search?q=" + url.QueryEscape("Evil"), "/clc/accounts/" + sa.ID.String()} {
		p := b.get(path)
		wantStatus(t, p, http.StatusOK)
		if p.Doc.Find("script:not([src]), img[onerror]").Length() != 0 || strings.Contains(p.Body, "<script>alert") {
			t.Errorf("%s: stored markup became markup", path)
		}
		if !strings.Contains(text(p, "main"), evil) {
			t.Errorf("%s: the name is not shown as typed: %s", path, text(p, "main"))
		}
	}
	for _, q := range []string{`%' OR '1'='1`, `Hid%`, `___`, `%%%`, `'); DROP TABLE users; --`, `\%_`} {
		p := b.get("/clc/search?q=" + url.QueryEscape(q))
		wantStatus(t, p, http.StatusOK)
		if !strings.Contains(text(p, "main"), "No Smart Account matches") {
			t.Errorf("query %q found more than its characters: %s", q, text(p, "main"))
		}
	}
	if n := a.count(t, `SELECT count(*) FROM users`); n != 1 {
		t.Errorf("%d users", n)
	}
}
