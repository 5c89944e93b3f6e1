package server_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/language"

	"github.com/clc-portal/clc/internal/demo"
)

// TestScreenshots renders the main pages over the demo data into the folder
// CLC_SCREENSHOTS names (`make screenshots` sets docs/screenshots). It is
// how the README's pictures are made, not a check: without the variable it
// skips.
func TestScreenshots(t *testing.T) {
	t.Parallel()
	dir := os.Getenv("CLC_SCREENSHOTS")
	if dir == "" {
		t.Skip("CLC_SCREENSHOTS is not set; `make screenshots` sets it")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	a := newApp(t)
	if err := demo.Seed(context.Background(), a.svc); err != nil {
		t.Fatal(err)
	}
	b := openTab(t, a, language.English)
	shot := func(name string, full bool) {
		t.Helper()
		// The focus ring of the last click is not part of the picture.
		b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur && !document.querySelector("dialog[open]") && document.activeElement.blur()`))
		var png []byte
		var err error
		if full {
			png, err = chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		} else {
			png, err = chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.do(chromedp.EmulateViewport(1280, 800))
	b.signIn(demo.PartnerEmail, demo.Password)
	b.visit("/clc/search?q=corp")
	shot("search-results", true)

	b.visit("/clc/accounts/new")
	b.do(chromedp.Click(chromedp.CSS("[data-edit-domain]")))
	b.do(chromedp.SetValue(chromedp.CSS("#domain"), "initrode.example"),
		chromedp.SetValue(chromedp.CSS("#name"), "Initrode Corporation"),
		chromedp.SetValue(chromedp.CSS("#note_to_approver"), "Initrode buys through us since 2021; their IT lead asked for the account."),
		chromedp.SetValue(chromedp.CSS("#customer_emails"), "bill@initrode.example"),
		chromedp.SetValue(chromedp.CSS("#note_to_customer"), "Please approve so we can move your licences."),
		chromedp.SetValue(chromedp.CSS("#user_emails"), "it@initrode.example"))
	shot("request-form", true)
	b.do(chromedp.Click(chromedp.CSS("button[value=review]")))
	b.waitFor("form[action='/clc/accounts/new/submit']")
	shot("review", true)
	b.do(chromedp.Click(chromedp.CSS("form[action='/clc/accounts/new/submit'] button:not([formaction])")))
	b.waitFor(".flash")
	shot("directory", true)
	// Ada administers Northwind's account, where the demo's newcomer waits.
	b.visit("/clc/manage/access-requests")
	b.waitFor("main table")
	shot("pending-access-requests", true)

	link := a.link(t, "bill@initrode.example")
	b.do(chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)))
	b.waitFor(`a[href="/login"]`)
	b.visit(link)
	shot("pending-request", true)
	b.do(chromedp.Click(chromedp.CSS(`[data-dialog="deny-dialog"]`)))
	b.waitFor("#deny-dialog textarea")
	b.do(chromedp.SendKeys(chromedp.CSS("#deny-dialog textarea"), "We already have a Smart Account under another name."))
	shot("deny-dialog", false)

	b.visit("/")
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.signIn(demo.PartnerEmail, demo.Password)
	b.visit("/clc/directory")
	shot("directory-phone", true)
}
