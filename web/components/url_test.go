package components

import (
	"context"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Links built from data pass templ's URL sanitizer: a javascript: URL that
// reached one would not run.
func TestLinksAreSanitized(t *testing.T) {
	bad := "javascript:alert(1)"
	for name, html := range map[string]string{
		"field error link": render(t, Input(Field{ID: "x", Label: "X", Error: &FieldMessage{Text: "taken", LinkHref: bad, LinkText: "go"}})),
		"pager":            render(t, PagerNav(Pager{Label: "p", Number: 2, PrevHref: bad, NextHref: bad})),
	} {
		if strings.Contains(html, "javascript:") {
			t.Errorf("%s: a javascript: URL went through unsanitized:\n%s", name, html)
		}
	}
	// What the portal links to still works.
	if html := render(t, Admins([]Contact{{Name: "Ada", Email: "ada@partner.example"}})); !strings.Contains(html, `href="mailto:ada@partner.example"`) {
		t.Errorf("mailto link lost:\n%s", html)
	}
}
