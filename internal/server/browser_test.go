package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/text/language"

	"github.com/clc-portal/clc/internal/i18n"
)

// chromium opens a tab for one test in the package's one headless Chromium
// (see chromiumProcess), in a browser context of its own: its own cookies and
// storage, as a fresh profile would have, so tests that run in parallel
// never see each other's sessions. The tab emulates focus, so keyboard
// steps behave as in the window a person looks at, whichever tab Chromium
// thinks is in front.
func chromium(t *testing.T) context.Context {
	t.Helper()
	browserCtx, err := chromiumProcess.get()
	if err != nil {
		t.Fatal(err)
	}
	tab, cancelTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab)
	// A bound on the whole test, so a page that never shows what a step
	// waits for fails the test instead of hanging it. Generous: tours run
	// side by side on two cores.
	ctx, cancel := context.WithTimeout(tab, 4*time.Minute)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tgt, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatalf("open a tab in Chromium: %v", err)
	}
	return ctx
}

// chromiumProcess is the package's one headless Chromium, started by the first test
// that needs it and stopped by TestMain: one start instead of one a test.
// CLC_CHROMIUM names the binary (scripts/test.sh sets it); a browser test
// fails without it, since a skipped browser test proves nothing.
var chromiumProcess sharedBrowser

type sharedBrowser struct {
	once   sync.Once
	ctx    context.Context
	err    error
	cancel []context.CancelFunc
}

func (b *sharedBrowser) get() (context.Context, error) {
	b.once.Do(func() {
		path := os.Getenv("CLC_CHROMIUM")
		if path == "" {
			b.err = errors.New("CLC_CHROMIUM is not set: run the tests with `make test`, or set it to the path scripts/chromium.sh prints")
			return
		}
		dir, err := os.MkdirTemp("", "clc-chromium-")
		if err != nil {
			b.err = err
			return
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			// Tabs side by side are all in front: none is slowed as a
			// background tab (timers, rendering) while another test runs.
			chromedp.Flag("disable-background-timer-throttling", true),
			chromedp.Flag("disable-backgrounding-occluded-windows", true),
			chromedp.Flag("disable-renderer-backgrounding", true),
			// Each page is a new JavaScript context in which axe-core and the
			// portal's script run once or twice: V8's optimizing compilers
			// (Maglev, TurboFan) compiled them afresh on every page, on
			// threads of their own, and made half of a language tour's CPU.
			// The interpreter and Sparkplug run the same code: a tour alone
			// took 54 s of CPU with them and 34 s without.
			chromedp.Flag("js-flags", "--max-opt=1"),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 900),
		)
		ctx, cancelBrowser := chromedp.NewContext(alloc)
		b.ctx, b.cancel = ctx, []context.CancelFunc{cancelBrowser, cancelAlloc, func() { _ = os.RemoveAll(dir) }}
		if err := chromedp.Do(ctx); err != nil {
			b.err = fmt.Errorf("start Chromium %s: %w", path, err)
		}
	})
	return b.ctx, b.err
}

// stop ends Chromium, when a test started it.
func (b *sharedBrowser) stop() {
	for _, cancel := range b.cancel {
		cancel()
	}
}

// tab is one person's Chromium tab on the app, asking for one language as
// a browser does (Accept-Language), with that language's words at hand so
// steps find controls by what they say in it.
type tab struct {
	t    *testing.T
	app  *app
	ctx  context.Context
	base string
	tr   *i18n.Translator
}

func openTab(t *testing.T, a *app, lang language.Tag) *tab {
	t.Helper()
	ctx := chromium(t)
	catalog, err := i18n.Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b := &tab{t: t, app: a, ctx: ctx, base: a.srv.URL, tr: catalog.Translator(lang)}
	b.do(func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tgt, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": lang.String()},
		})
		return chromedp.Void{}, err
	})
	return b
}

// T is a message in the tab's language.
func (b *tab) T(id string, kv ...any) string { return b.tr.T(id, kv...) }

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// visit opens a path of the app and waits for its h1.
func (b *tab) visit(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS("h1")))
}

// text is an element's visible text, spaces folded.
func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// js evaluates an expression that gives a string.
func (b *tab) js(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return s
}

func (b *tab) is(expr string) bool {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// focused describes the element that has the focus, as "tag#id text".
func (b *tab) focused() string {
	b.t.Helper()
	return b.js(`(() => { const e = document.activeElement; return e ? e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " + e.textContent.trim().replace(/\s+/g, " ").slice(0, 60) : ""; })()`)
}

// key presses keys on whatever has the focus, as a keyboard does.
func (b *tab) key(keys string) {
	b.t.Helper()
	b.do(chromedp.KeyEvent(keys))
}

// tabTo presses Tab until the focus is on an element matching the CSS
// selector, as a keyboard user does, and fails after limit presses.
func (b *tab) tabTo(sel string, limit int) {
	b.t.Helper()
	for presses := 0; ; presses++ {
		if b.is(`document.activeElement && document.activeElement.matches(` + jsString(sel) + `)`) {
			return
		}
		if presses == limit {
			break
		}
		b.key("\t")
	}
	b.t.Fatalf("%d Tab presses did not reach %s; focus on %s", limit, sel, b.focused())
}

// axe checks the page as it is now.
func (b *tab) axe(where string) {
	b.t.Helper()
	wantAccessible(b.t, b.ctx, where)
}

func (b *tab) path() string { b.t.Helper(); return b.js(`location.pathname`) }

// signIn logs in through the Log In page with the keyboard alone.
func (b *tab) signIn(email, password string) {
	b.t.Helper()
	b.visit("/login")
	b.do(chromedp.WaitVisible(chromedp.CSS("#email")), chromedp.Focus(chromedp.CSS("#email")))
	b.do(chromedp.KeyEvent(email), chromedp.KeyEvent("\t"), chromedp.KeyEvent(password), chromedp.KeyEvent("\r"))
	// Staff, whose authenticator the test holds, are asked for its code next.
	b.app.mu.Lock()
	_, hasCode := b.app.authenticators[strings.ToLower(email)]
	b.app.mu.Unlock()
	if hasCode {
		b.do(chromedp.WaitVisible(chromedp.CSS("#code")), chromedp.Focus(chromedp.CSS("#code")))
		b.axe("two-factor code")
		b.do(chromedp.KeyEvent(b.app.totpCode(strings.ToLower(email))), chromedp.KeyEvent("\r"))
	}
	b.do(chromedp.WaitVisible(chromedp.CSS("nav.menu")))
}

// jsString quotes s for a script.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// byName finds an element of a kind by its visible text, as a person would:
// an XPath query, which a plain string selector searches for.
func byName(tag, name string) string {
	return `//` + tag + `[normalize-space()="` + name + `"]`
}

// waitFor waits for an element to show, at most ten seconds, and fails with
// what the tab shows instead.
func (b *tab) waitFor(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	var err error
	if strings.HasPrefix(sel, "/") {
		err = chromedp.Do(ctx, chromedp.WaitVisible(sel))
	} else {
		err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel)))
	}
	if err != nil {
		b.t.Fatalf("waiting for %s: %v; the tab shows %s: %s", sel, err, b.path(), b.text("body"))
	}
}
