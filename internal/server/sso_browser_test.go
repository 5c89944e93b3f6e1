package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/language"

	"github.com/clc-portal/clc/internal/paths"
)

// TestBrowserSignsInThroughTheProvider: in English and German, a person
// presses the provider's button on Log In, signs in on the provider's own
// page, lands in the portal signed in, and after Log Out is offered the
// provider's end-session; every portal page on the way passes axe.
func TestBrowserSignsInThroughTheProvider(t *testing.T) {
	a, prov := newSSOApp(t)
	a.user("ada@northwind-partners.example", "Ada Lovelace", false)
	a.user("ops@clc.example", "Olga Operator", true)
	for _, lang := range []language.Tag{language.English, language.German} {
		t.Run(lang.String(), func(t *testing.T) {
			b := openTab(t, a, lang)
			b.visit(paths.Login)
			b.axe("Log In with single sign-on")
			b.do(chromedp.Click(byName("button", b.T("sso.button", "Provider", "Northwind ID"))))
			// The provider's own page.
			b.waitFor("input#login")
			if !strings.HasPrefix(b.js(`location.href`), prov.origin+"/interaction/") {
				t.Fatalf("not the provider's page: %s", b.text("body"))
			}
			b.do(chromedp.SendKeys(chromedp.CSS("#login"), "ada@northwind-partners.example"),
				chromedp.SendKeys(chromedp.CSS("#password"), providerPassword),
				chromedp.Click(byName("button", "Sign in")))
			b.waitFor("nav.menu")
			if got := b.path(); got != paths.CLC {
				t.Fatalf("landed on %s", got)
			}
			b.axe("signed in through the provider")
			b.do(chromedp.Click(byName("button", b.T("nav.logout"))))
			b.waitFor("#sso-end-session")
			if got := b.text("h1"); got != b.T("sso.logged_out.heading") {
				t.Errorf("heading %q", got)
			}
			if got := b.text("#sso-end-session"); got != b.T("sso.logged_out.end", "Provider", "Northwind ID") {
				t.Errorf("end-session link %q", got)
			}
			b.axe("logged out, with the provider's end-session")
			// The provider's end-session page ends its session too.
			b.do(chromedp.Click(chromedp.CSS("#sso-end-session")))
			b.waitFor(`button[name=logout][value=yes]`)
			if !strings.HasPrefix(b.js(`location.href`), prov.origin+"/session/end") {
				t.Errorf("the end-session link went to %s", b.js(`location.href`))
			}
			// The provider asks, ends its session and sends the browser back
			// to the portal.
			b.do(chromedp.Click(chromedp.CSS(`button[name=logout][value=yes]`)))
			b.waitFor(`a[href="/clc"]`)
			if got := b.js(`location.href`); got != a.srv.URL+"/" {
				t.Errorf("after the provider's end-session: %s", got)
			}

			// An operator whose provider asserted multi-factor goes straight
			// in, and keeps the list of domains that require the provider.
			b.visit(paths.Login)
			b.do(chromedp.Click(byName("button", b.T("sso.button", "Provider", "Northwind ID"))))
			b.waitFor("input#login")
			b.do(chromedp.SendKeys(chromedp.CSS("#login"), "ops@clc.example"),
				chromedp.SendKeys(chromedp.CSS("#password"), providerPassword),
				chromedp.Click(byName("button", "Sign in")))
			b.waitFor("nav.menu")
			b.do(chromedp.Click(byName("a", b.T("nav.sso"))))
			b.waitFor("#domain")
			b.axe("single sign-on domains")
			b.do(chromedp.SendKeys(chromedp.CSS("#domain"), "not a domain"),
				chromedp.Click(byName("button", b.T("sso.ops.require"))))
			b.waitFor("#domain-error")
			b.axe("single sign-on domain refused")
			b.do(chromedp.SetValue(chromedp.CSS("#domain"), "northwind-partners.example"),
				chromedp.Click(byName("button", b.T("sso.ops.require"))))
			b.waitFor("#sso-domains")
			b.axe("single sign-on domain required")
			b.do(chromedp.Click(chromedp.CSS(`#sso-domains button`)))
			b.waitFor("#sso-domains-empty")
		})
	}
}
