package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/language"

	"github.com/clc-portal/clc/internal/i18n"
)

// axeScript is axe-core as npm installs it from testdata/axe's lock file
// (scripts/test.sh runs `npm ci` there when it is missing), and axeSource
// its text, read once for every test server and tab.
var (
	axeScript = filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js")
	axeSource = sync.OnceValues(func() ([]byte, error) { return os.ReadFile(axeScript) })
)

// axeRun checks the whole document against every rule axe-core runs by
// default: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best
// practices (landmarks, one main, heading order, ...). Each violation comes
// back as one line per offending element, so a failure says what to fix.
const axeRun = `(async () => {
	const r = await axe.run(document, {resultTypes: ["violations"]});
	return r.violations.flatMap(v => v.nodes.map(n =>
		v.id + " (" + v.impact + "): " + v.help + " at " + n.target.join(" ") + ": " + n.failureSummary.replace(/\s+/g, " ")));
})()`

// wantAccessible runs axe-core on what the tab shows now (open dialogs and
// error messages included) and fails the test with every violation. where
// names the page in the failure. Call it from any browser test after the
// page, or the state of it, that it should check:
//
//	b.visit("/clc/tokens", "API Tokens")
//	wantAccessible(t, b.ctx, "API tokens page")
func wantAccessible(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeLoad, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", where, err)
	}
	if !loaded { // a page of another origin (the OpenID provider's)
		src, err := axeSource()
		if err != nil {
			t.Fatalf("axe-core is not installed (run `npm ci` in internal/server/testdata/axe, as make test does): %v", err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](string(src))); err != nil {
			t.Fatalf("inject axe-core into %s: %v", where, err)
		}
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core on %s: %v", where, err)
	}
	if len(violations) > 0 {
		lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
		t.Errorf("%s (lang %s): %d accessibility violations:\n%s", where, lang, len(violations), strings.Join(violations, "\n"))
	}
}

// languageTags is every language of the catalog, English first.
func languageTags(t *testing.T) []language.Tag {
	t.Helper()
	catalog, err := i18n.Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return catalog.Languages()
}

// axePath is where the tests' servers (withAxe) serve axe-core, beside
// the portal's own pages: no route of the portal starts with "/_test/".
const axePath = "/_test/axe.min.js"

// axeLoad loads axe-core into the page, unless it is there already, with
// a script element from axePath, as a page loads its own scripts, and is
// true when axe is there. Chromium compiles a script it has seen from the
// same URL once per renderer and reuses the code on every later page; axe
// evaluated afresh on each page was compiled each time (about 80 ms of a
// page's 250 ms of checking, on every one of the tours' 400 pages).
const axeLoad = `typeof window.axe === "object" || new Promise(resolve => {
	const s = document.createElement("script");
	s.src = "` + axePath + `";
	s.onload = () => resolve(typeof window.axe === "object");
	s.onerror = () => resolve(false);
	document.head.appendChild(s);
})`

// withAxe serves axe-core at axePath, cacheable, and everything else
// from the portal.
func withAxe(portal http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != axePath {
			portal.ServeHTTP(w, r)
			return
		}
		src, err := axeSource()
		if err != nil { // wantAccessible says how to install it
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(src)
	})
}
