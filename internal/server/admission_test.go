package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/server"
)

// TestOverloadIsShedAtOnce fills the server's one place with a write that
// waits on a lock the test holds, and checks that the next page and API
// requests are refused at once, in the language and form each client
// reads, while health checks and static files are still served; once the
// lock goes, the write that was admitted finishes and requests are served.
func TestOverloadIsShedAtOnce(t *testing.T) {
	t.Parallel()
	const wait = 30 * time.Millisecond
	a := newAppWith(t, pgtest.New(t), func(d *server.Deps) {
		d.Admission = server.Admission{InFlight: 1, Wait: wait}
	})
	ada := a.user("ada@partner.example", "Ada", false)
	holder := a.signedIn(ada.Email)
	other := a.signedIn(a.user("bob@partner.example", "Bob", false).Email)
	spec := a.openAPI(t)
	api := a.api(t, spec, other.newToken("script"))
	catalog, err := i18n.Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	tx, err := a.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE users IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	// A write, admitted: it waits on the lock while it holds the place.
	held := make(chan page, 1)
	go func() { held <- holder.post("/language", url.Values{"lang": {"fr"}}) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := a.db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'users'::regclass`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the write never reached the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A page: the unavailable page in the browser's language, at once.
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/clc/directory", nil)
	req.Header.Set("Accept-Language", "de-CH, de;q=0.9")
	start := time.Now()
	p := other.do(req)
	took := time.Since(start)
	wantStatus(t, p, http.StatusServiceUnavailable)
	if took < wait || took > wait+time.Second {
		t.Errorf("refused after %s, want the wait budget %s and no more", took, wait)
	}
	if got := p.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q", got)
	}
	de := catalog.Translator(language.German)
	if got := text(p, "h1"); got != de.T("error.unavailable.heading") {
		t.Errorf("refused page's heading %q, want the German unavailable page", got)
	}
	if lang, _ := p.Doc.Find("html").Attr("lang"); lang != "de" {
		t.Errorf("refused page in %q", lang)
	}

	// The API: its problem document, in the client's language.
	start = time.Now()
	ans := api.do(http.MethodGet, "/api/v1/account-requests", nil, "Accept-Language", "fr")
	took = time.Since(start)
	if ans.Status != http.StatusServiceUnavailable || ans.Header.Get("Retry-After") != "1" {
		t.Fatalf("API under overload: %d, Retry-After %q: %s", ans.Status, ans.Header.Get("Retry-After"), ans.Body)
	}
	if took > wait+time.Second {
		t.Errorf("API refused after %s", took)
	}
	if pr := ans.problem(t); pr.Detail != catalog.Translator(language.French).T("api.error.unavailable") {
		t.Errorf("API problem %+v, want the French unavailable detail", pr)
	}

	// Health checks and static files take no place.
	for _, path := range []string{"/healthz", "/static/app.css"} {
		if p := a.browser().get(path); p.StatusCode != http.StatusOK {
			t.Errorf("%s under overload: %d", path, p.StatusCode)
		}
	}
	select {
	case p := <-held:
		t.Fatalf("the admitted write finished while its lock was held: %d", p.StatusCode)
	default:
	}

	// The lock goes: the admitted write finishes, and was not cut short.
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, <-held, http.StatusSeeOther)
	var lang string
	if err := a.db.Pool.QueryRow(ctx, `SELECT language FROM users WHERE id = $1`, ada.ID).Scan(&lang); err != nil || lang != "fr" {
		t.Errorf("the admitted write left language %q (%v), want fr", lang, err)
	}
	wantStatus(t, other.get("/clc/directory"), http.StatusOK)
	if ans := api.do(http.MethodGet, "/api/v1/account-requests", nil); ans.Status != http.StatusOK {
		t.Errorf("API after the overload: %d", ans.Status)
	}
	if !strings.Contains(holder.get("/clc/directory").Body, `lang="fr"`) {
		t.Error("the admitted language change is not in effect")
	}
}
