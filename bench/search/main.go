// Command search benchmarks the portal's main pages and actions at scale:
// home, search (common and rare terms, 400 distinct queries), the directory
// overview of a partner with about 300 accounts (10 rows a section and its
// total) and its sections' own pages (25 rows, paged, filtered), an
// account page, request submission, the Pending Request page, an approval,
// and Pending Access Requests when the portal has it. It starts a throwaway
// PostgreSQL (scripts/pg.sh, port 54335 or -pgport, .tmp/pg-bench), migrates it and
// loads a synthetic directory with `clc seed scale` (kept between runs when
// it already holds that many accounts), starts `clc serve` and
// bench/baseline, signs in as the partner through the login form, and
// drives each page from bench/load, a process of its own: closed-loop
// clients, then a fixed rate (open loop). Beside each page it measures, in
// the same run, its same-work baseline (the page's own domain call and SQL,
// rendered with no session or middleware) and, once, the one-query
// baseline. The directory and submission are also driven at twice their
// capacity, then gently for a second: what the server admits must stay
// fast, the rest be refused at once (503), and the second after be normal.
// It samples the server's RSS, takes a CPU profile of the server
// under each page's load (.tmp/bench/*.pprof, from /debug/pprof on its
// operators' listener, CLC_OPS_ADDR), times
// email delivery to a local SMTP server and the server's start, prints the
// table and writes bench/RESULTS.md.
//
// Before all that it measures how cost grows with the data (-sizes): it
// grows one database in steps, and at each size measures the directory
// overview, a section's first and last page and a filtered section, for
// partners of about 30, 300 and 30,000 accounts (-partners), and search,
// briefly each; it flags a page whose time grows more than twice from the
// smallest size to the largest, and plots the figures (bench/plot) into
// scaling.png beside the results. Debian's wrk measures the directory,
// search and the one-query baseline too, right after bench/load: a second
// opinion on the load generator (scripts/bench-tools.sh installs it).
//
//	go run ./bench/search -accounts 1000000
//	go run ./bench/search -accounts 5000 -sizes 1000,5000 -partners 30,300,3000 -duration 2s
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/scale"
)

// The cluster the benchmark owns; other clusters on this machine are not its business.
const (
	pgDir = ".tmp/pg-bench"
	work  = ".tmp/bench"
)

type options struct {
	accounts  int
	clients   int
	duration  time.Duration
	warmup    time.Duration
	rate      float64
	openFor   time.Duration
	fresh     bool
	keep      bool
	results   string
	accessReq string
	pgPort    string
	only      string
	emails    int
	// How cost grows: the data sizes the directory grows through, the
	// partners measured at each, and how long each page is measured there.
	sizes, partners       []int
	scaleFor, scaleWarmup time.Duration
	scaleClients          int
	// wrk: run Debian's wrk beside bench/load on a few pages.
	wrk bool
}

func main() {
	var o options
	flag.IntVar(&o.accounts, "accounts", 1000000, "Smart Accounts in the directory (at least the largest of -sizes)")
	flag.IntVar(&o.clients, "clients", 32, "concurrent clients of the closed loop")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each page is measured closed-loop")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before each measurement, not counted")
	flag.Float64Var(&o.rate, "rate", 500, "requests per second of the open loop")
	flag.DurationVar(&o.openFor, "open", 6*time.Second, "how long each page is measured open-loop")
	flag.BoolVar(&o.fresh, "fresh", false, "load the directory again even if the database holds one of that size")
	flag.BoolVar(&o.keep, "keep", false, "leave PostgreSQL running afterwards")
	flag.StringVar(&o.results, "results", "bench/RESULTS.md", "where to write the results (\"\" for nowhere)")
	flag.StringVar(&o.accessReq, "access-requests", "/clc/manage/access-requests", "the path of Pending Access Requests")
	// A port of its own where other sessions share the machine.
	flag.StringVar(&o.pgPort, "pgport", "54335", "the port of the benchmark's PostgreSQL")
	// Email delivery alone takes a minute rather than the whole run's half hour.
	flag.StringVar(&o.only, "only", "", `"email": skip the pages and measure only email delivery, over -emails queued emails; writes no results`)
	flag.IntVar(&o.emails, "emails", 20000, "with -only email, how many emails to have queued (synthetic ones top the queue up)")
	sizes := flag.String("sizes", "10000,100000,1000000", `how cost grows: the data sizes, ascending, the directory is grown through (loaded afresh) and the directory and search measured at ("" for none)`)
	partners := flag.String("partners", "30,300,30000", "how cost grows: the partners measured at each size, as how many accounts each holds a role on")
	flag.DurationVar(&o.scaleFor, "scale-duration", 3*time.Second, "how cost grows: how long each page is measured at each size")
	flag.DurationVar(&o.scaleWarmup, "scale-warmup", time.Second, "how cost grows: load before each of those, not counted")
	// No more than the server serves at once (CLC_MAX_IN_FLIGHT, the pool's
	// size: 4 on 2 cores): none is refused, none waits for a place, and the
	// time is the page's own.
	flag.IntVar(&o.scaleClients, "scale-clients", 4, "how cost grows: closed-loop clients")
	flag.BoolVar(&o.wrk, "wrk", true, "measure the directory, search and the one-query baseline with wrk too (scripts/bench-tools.sh installs it)")
	flag.Parse()
	var err error
	if o.sizes, err = parseSizes("sizes", *sizes); err == nil {
		o.partners, err = parseSizes("partners", *partners)
	}
	if err == nil && len(o.partners) == 0 {
		err = errors.New("-partners: give at least one")
	}
	if err == nil && len(o.sizes) > 0 && o.sizes[len(o.sizes)-1] > o.accounts {
		err = fmt.Errorf("-sizes goes up to %d, past -accounts %d", o.sizes[len(o.sizes)-1], o.accounts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// benchDomain is the parent of every domain the benchmark requests. What
// earlier runs requested stays (removing it would delete Virtual Accounts,
// and memberships have no index by Virtual Account, so each one deleted
// reads every membership): it is left out when counting the directory, and
// handed to no one before a run measures the directory (see
// forgetEarlierSubmissions).
const benchDomain = "bench.example"

func run(ctx context.Context, o options, out io.Writer) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run from the repository's root: go run ./bench/search")
	}
	if o.only != "" && o.only != "email" {
		return fmt.Errorf("-only %q: only \"email\" is known", o.only)
	}
	// The commit measured, read before the run writes scaling.png: read at
	// the end, the bench's own output made every run "-dirty".
	commit := gitCommit()
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if o.only == "" && o.wrk {
		if _, err := exec.LookPath("wrk"); err != nil {
			return errors.New("wrk is not installed: run scripts/bench-tools.sh (make bench does), or give -wrk=false")
		}
	}
	bins := map[string]string{"clc": "./cmd/clc", "baseline": "./bench/baseline", "load": "./bench/load"}
	for name, pkg := range bins {
		step(out, "build %s", pkg)
		if err := command(ctx, nil, "go", "build", "-o", filepath.Join(work, name), pkg).Run(); err != nil {
			return fmt.Errorf("build %s: %w", pkg, err)
		}
	}

	step(out, "start PostgreSQL on port %s (%s)", o.pgPort, pgDir)
	var urlOut bytes.Buffer
	start := command(ctx, nil, "scripts/pg.sh", "start", pgDir, o.pgPort)
	start.Stdout = &urlOut
	if err := start.Run(); err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	dbURL := strings.TrimSpace(urlOut.String())
	if !o.keep {
		defer func() {
			step(out, "stop PostgreSQL")
			_ = command(context.Background(), nil, "scripts/pg.sh", "stop", pgDir).Run()
		}()
	}
	env := append(os.Environ(), "DATABASE_URL="+dbURL)
	var grown *scaling
	if o.only == "" && len(o.sizes) > 0 {
		var err error
		if grown, err = measureScaling(ctx, out, o, dbURL, env); err != nil {
			return err
		}
	}
	if err := prepare(ctx, out, o, dbURL, env, grown != nil); err != nil {
		return err
	}

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if o.only == "email" {
		if err := queueEmails(ctx, out, conn, o.emails); err != nil {
			return err
		}
		rate, err := deliverEmail(ctx, out, env, conn)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\nemail delivery to a local SMTP server (one clc worker): %.0f/s\n", rate)
		return nil
	}
	partner, err := heavyPartner(ctx, conn, nearestWant(grownPartners(o.partners), scale.DefaultPartner))
	if grown != nil {
		// The partner whose pages were measured at every size.
		if want := nearestWant(grown.partners, scale.DefaultPartner); want > 0 {
			for _, p := range grown.partners {
				if p.want == want {
					partner = p.email
				}
			}
		}
	}
	if err != nil {
		return err
	}
	if err := forgetEarlierSubmissions(ctx, out, conn, partner); err != nil {
		return err
	}
	queries, err := sampleQueries(ctx, conn, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return err
	}
	accountIDs, err := partnerAccounts(ctx, conn, partner)
	if err != nil {
		return err
	}

	clcAddr, opsAddr, baseAddr := freeAddr(), freeAddr(), freeAddr()
	step(out, "start clc serve on %s (ops on %s) and the baseline on %s", clcAddr, opsAddr, baseAddr)
	began := time.Now()
	// One bench partner submits tens of thousands of requests: the daily
	// email quota a real partner meets would stop it after a few hundred.
	clc, err := startServer(ctx, filepath.Join(work, "clc.log"), append(env, "CLC_ADDR="+clcAddr, "CLC_OPS_ADDR="+opsAddr, "SMTP_URL=smtp://127.0.0.1:1",
		"CLC_USER_EMAILS_PER_DAY=1000000"),
		filepath.Join(work, "clc"), "serve")
	if err != nil {
		return err
	}
	defer clc.stop()
	if err := waitUp(ctx, "http://"+clcAddr+"/readyz"); err != nil {
		return fmt.Errorf("clc serve: %w (see %s)", err, filepath.Join(work, "clc.log"))
	}
	ready := time.Since(began)
	base, err := startServer(ctx, filepath.Join(work, "baseline.log"), env, filepath.Join(work, "baseline"),
		"-addr", baseAddr, "-db", dbURL, "-user", partner)
	if err != nil {
		return err
	}
	defer base.stop()
	if err := waitUp(ctx, "http://"+baseAddr+"/search?q=abc"); err != nil {
		return fmt.Errorf("baseline: %w (see %s)", err, filepath.Join(work, "baseline.log"))
	}
	step(out, "sign in as %s", partner)
	cookie, err := signIn(ctx, "http://"+clcAddr, partner)
	if err != nil {
		return err
	}
	clcURL, baseURL := "http://"+clcAddr, "http://"+baseAddr
	m := &measurer{o: o, out: out, clc: clc, opsURL: "http://" + opsAddr, results: map[string]result{},
		servers: map[string]*server{clcAddr: clc, baseAddr: base}}
	if m.postmaster, err = postmasterPID(pgDir); err != nil {
		step(out, "no CPU per request: %v", err)
	}

	seqBefore, err := sequentialScans(ctx, conn)
	if err != nil {
		return err
	}
	overview := target{urls: []string{clcURL + "/clc/directory"}, cookie: cookie}
	sections, err := directorySectionPaths(ctx, conn, partner)
	if err != nil {
		return err
	}
	pages := []page{
		{name: "home", portal: target{urls: []string{clcURL + "/"}, cookie: cookie},
			same: target{urls: []string{baseURL + "/same/home"}}},
		{name: "search", portal: target{urls: prefixed(clcURL+"/clc/search?q=", queries), cookie: cookie},
			same: target{urls: prefixed(baseURL+"/same/search?q=", queries)}, secondOpinion: true},
		{name: "directory", portal: overview, same: target{urls: []string{baseURL + "/same/directory"}}, secondOpinion: true},
		{name: "directory section", portal: target{urls: prefixed(clcURL+"/clc/directory", sections), cookie: cookie},
			same: target{urls: prefixed(baseURL+"/same/directory", sections)}},
		{name: "account", portal: target{urls: prefixed(clcURL+"/clc/accounts/", accountIDs), cookie: cookie},
			same: target{urls: prefixed(baseURL+"/same/account/", accountIDs)}},
	}
	for _, p := range pages {
		if err := m.page(ctx, p); err != nil {
			return err
		}
	}
	if err := m.overload(ctx, "directory", overview, false, m.results["directory"].RPS); err != nil {
		return err
	}

	// Each submission asks for a domain of its own; each leaves an approval
	// link, which the Pending Request page and the approvals use next.
	runID := time.Now().Unix()
	subs := submissions(runID, 80000)
	quarter := len(subs) / 4
	if err := m.page(ctx, page{name: "submit", once: true,
		portal:   target{urls: prefixed("POST "+clcURL+"/clc/accounts/new/submit ", subs[:quarter]), cookie: cookie},
		openURLs: prefixed("POST "+clcURL+"/clc/accounts/new/submit ", subs[quarter:2*quarter]),
		same:     target{urls: prefixed("POST "+baseURL+"/same/submit ", subs[2*quarter:3*quarter])},
	}); err != nil {
		return err
	}
	if err := m.overload(ctx, "submit", target{urls: prefixed("POST "+clcURL+"/clc/accounts/new/submit ", subs[3*quarter:]), cookie: cookie},
		true, m.results["submit"].RPS); err != nil {
		return err
	}
	tokens, err := approvalTokens(ctx, conn, runID)
	if err != nil {
		return err
	}
	step(out, "%d approval links from the submissions", len(tokens))
	if len(tokens) < 800 {
		return fmt.Errorf("only %d approval links: too few to measure the Pending Request page and approvals", len(tokens))
	}
	viewTokens, tokens := tokens[:400], tokens[400:]
	if err := m.page(ctx, page{name: "pending",
		portal: target{urls: prefixed(clcURL+"/pending/", viewTokens)},
		same:   target{urls: prefixed(baseURL+"/same/pending/", viewTokens)},
	}); err != nil {
		return err
	}
	third := len(tokens) / 3
	if err := m.page(ctx, page{name: "approve", once: true,
		portal:   target{urls: suffixed(prefixed("POST "+clcURL+"/pending/", tokens[:third]), "/approve")},
		openURLs: suffixed(prefixed("POST "+clcURL+"/pending/", tokens[third:2*third]), "/approve"),
		same:     target{urls: prefixed("POST "+baseURL+"/same/approve/", tokens[2*third:])},
	}); err != nil {
		return err
	}
	if smoke(ctx, "access requests", target{urls: []string{clcURL + o.accessReq}, cookie: cookie}) == nil {
		if err := m.page(ctx, page{name: "access requests", portal: target{urls: []string{clcURL + o.accessReq}, cookie: cookie}}); err != nil {
			return err
		}
	} else {
		step(out, "skip Pending Access Requests: %s does not answer 200 here", o.accessReq)
		m.skipped = append(m.skipped, "access requests")
	}
	step(out, "load the one-query baseline")
	oneQuery := target{urls: prefixed(baseURL+"/search?q=", queries)}
	if m.results["one-query baseline"], err = m.drive(ctx, "one-query baseline", oneQuery, false, 0); err != nil {
		return err
	}
	if err := m.secondOpinion(ctx, "one-query baseline", oneQuery); err != nil {
		return err
	}
	seqAfter, err := sequentialScans(ctx, conn)
	if err != nil {
		return err
	}
	hwm := clc.peakRSS()
	clc.stop()
	base.stop()
	mailRate, err := deliverEmail(ctx, out, env, conn)
	if err != nil {
		return err
	}
	r := report{o: o, commit: commit, partner: partner, results: m.results, rss: m.rss, peakRSS: hwm, ready: ready,
		mailRate: mailRate, seqScans: seqAfter - seqBefore, skipped: m.skipped, pages: m.order, overloads: m.overloads,
		wrk: m.wrk, wrkOrder: m.wrkOrder, scaling: grown}
	if grown != nil && o.results != "" {
		grown.draw(ctx, out, filepath.Join(filepath.Dir(o.results), "scaling.png"))
	}
	r.print(out)
	if o.results != "" {
		if err := r.write(o.results); err != nil {
			return err
		}
		step(out, "wrote %s", o.results)
	}
	return nil
}

// overload drives t open-loop at twice capacity (a page's closed-loop
// requests a second), then one client for the second after: the server
// must serve what it admits within its budget and refuse the rest at once,
// keep its memory, and be itself again as soon as the load stops.
func (m *measurer) overload(ctx context.Context, name string, t target, once bool, capacity float64) error {
	rate := 2 * capacity
	step(m.out, "overload %s: %.0f requests/s, twice its capacity", name, rate)
	stopRSS := m.clc.sampleRSS()
	r, err := m.drive(ctx, name+" overload", t, once, rate, time.Second)
	if err != nil {
		return err
	}
	m.results[name+" overload"] = r
	m.rss[name+" overload"] = stopRSS()
	m.overloads = append(m.overloads, name)
	return nil
}

// page is one page or action: the portal's, measured closed-loop and then
// open-loop, and its same-work baseline, closed-loop. With once, each line
// is used once, and the open loop has its own lines (openURLs).
type page struct {
	name     string
	portal   target
	openURLs []string
	same     target
	once     bool
	// secondOpinion: measure the portal's page with wrk too.
	secondOpinion bool
}

type measurer struct {
	o   options
	out io.Writer
	clc *server
	// opsURL is the server's operators' listener, where its profiles are.
	opsURL  string
	results map[string]result
	rss     map[string]int64 // the server's largest RSS under each page's load, in KiB
	order   []string
	skipped []string
	// overloads are the pages driven at twice their capacity.
	overloads []string
	// wrk is what wrk measured of a few pages, in the order of wrkOrder.
	wrk      map[string]wrkResult
	wrkOrder []string
	// servers are the processes a closed loop's CPU is read from, by the
	// address their URLs carry; postmaster is the benchmark cluster's.
	servers    map[string]*server
	postmaster int
}

func (m *measurer) page(ctx context.Context, p page) error {
	if m.rss == nil {
		m.rss = map[string]int64{}
	}
	if !p.once {
		if err := smoke(ctx, p.name, p.portal); err != nil {
			return err
		}
		if len(p.same.urls) > 0 {
			if err := smoke(ctx, p.name+" (same work)", p.same); err != nil {
				return err
			}
		}
	}
	m.order = append(m.order, p.name)
	step(m.out, "load %s: %d clients, %s after %s warm-up, %d distinct requests", p.name, m.o.clients, m.o.duration, m.o.warmup, len(p.portal.urls))
	stopRSS := m.clc.sampleRSS()
	profile := m.profile(ctx, p.name)
	r, err := m.drive(ctx, p.name, p.portal, p.once, 0)
	if err != nil {
		return err
	}
	<-profile
	m.results[p.name] = r
	if p.secondOpinion {
		if err := m.secondOpinion(ctx, p.name, p.portal); err != nil {
			return err
		}
	}
	step(m.out, "load %s: %.0f requests/s, open loop", p.name, m.o.rate)
	open := p.portal
	if p.openURLs != nil {
		open.urls = p.openURLs
	}
	if m.results[p.name+" open"], err = m.drive(ctx, p.name+" open", open, p.once, m.o.rate); err != nil {
		return err
	}
	m.rss[p.name] = stopRSS()
	if len(p.same.urls) > 0 {
		step(m.out, "load %s's same-work baseline", p.name)
		if m.results[p.name+" same"], err = m.drive(ctx, p.name+" same", p.same, p.once, 0); err != nil {
			return err
		}
	}
	return nil
}

// profile takes a CPU profile of the server while a page's closed loop
// runs, after its warm-up, into .tmp/bench/<page>.pprof.
func (m *measurer) profile(ctx context.Context, name string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-time.After(m.o.warmup):
		case <-ctx.Done():
			return
		}
		secs := max(1, int(m.o.duration.Seconds())-1)
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", m.opsURL, secs))
		if err != nil {
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(work, strings.ReplaceAll(name, " ", "-")+".pprof"))
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}()
	return done
}

// partnerAccounts are up to 50 of the accounts the partner holds a role on,
// as their page's ids (SA-000123).
func partnerAccounts(ctx context.Context, conn *pgx.Conn, email string) ([]string, error) {
	rows, err := conn.Query(ctx, `
		SELECT DISTINCT m.smart_account_id FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE u.email = $1 ORDER BY 1 LIMIT 50`, email)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("the partner's accounts: %w", err)
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmt.Sprintf("SA-%06d", id)
	}
	return out, nil
}

// submissions are n filled-in "Request a Smart Account for a Customer"
// forms as the review page posts them, each for a domain and with a
// submission key of its own.
func submissions(runID int64, n int) []string {
	out := make([]string, n)
	for i := range n {
		domain := fmt.Sprintf("c%d-%d.%s", runID, i, benchDomain)
		out[i] = url.Values{
			"name": {fmt.Sprintf("Bench Customer %d %d", runID, i)}, "domain": {domain}, "domain_editable": {"1"},
			"note_to_approver": {"A customer of the benchmark."}, "customer_emails": {"approver@" + domain},
			"note_to_customer": {"Please approve."}, "submission_key": {fmt.Sprintf("bench-%d-%08d", runID, i)},
		}.Encode()
	}
	return out
}

// approvalTokens are the approval links this run's submissions emailed,
// read from the outbox before delivery (the SMTP server the portal was
// given does not answer, so every email waits there with its token).
func approvalTokens(ctx context.Context, conn *pgx.Conn, runID int64) ([]string, error) {
	rows, err := conn.Query(ctx, `
		SELECT o.secret FROM outbox o JOIN smart_accounts sa ON sa.id = o.smart_account_id
		WHERE o.kind = 'approval_request' AND o.secret IS NOT NULL AND sa.status = 'pending'
			AND o.to_address LIKE $1
		ORDER BY o.id`, fmt.Sprintf("approver@c%d-%%", runID))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// queueEmails tops the queue up to n pending emails with synthetic ones
// shaped like a submission's: two approval requests carrying a token for
// each partner's confirmation, about accounts of the directory (so marking
// them sent writes their history, as for real ones).
func queueEmails(ctx context.Context, out io.Writer, conn *pgx.Conn, n int) error {
	var pending int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')`).Scan(&pending); err != nil {
		return err
	}
	if pending >= n {
		return nil
	}
	step(out, "queue %d synthetic emails (%d are queued already)", n-pending, pending)
	_, err := conn.Exec(ctx, `
		WITH sa AS (
			SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, name, domain FROM smart_accounts
			WHERE domain NOT LIKE '%.`+benchDomain+`' ORDER BY id LIMIT 1000
		), g AS (
			SELECT g, (SELECT count(*) FROM sa) AS accounts FROM generate_series(1, $1::int) g
		)
		INSERT INTO outbox (message_id, kind, to_address, language, data, secret, smart_account_id, next_attempt_at, created_at)
		SELECT md5(random()::text || clock_timestamp()::text || g),
			CASE WHEN g % 3 = 0 THEN 'request_confirmation' ELSE 'approval_request' END,
			'approver' || g || '@mail.`+benchDomain+`', 'en',
			jsonb_build_object('account_id', 'SA-' || lpad(sa.id::text, 6, '0'), 'account_name', sa.name, 'domain', sa.domain,
				'requester_name', 'Bench Partner', 'requester_email', 'partner@partner.`+benchDomain+`',
				'partner_name', 'Bench Partner Inc.', 'note', 'A customer of the benchmark.',
				'expires_at', now() + interval '30 days'),
			CASE WHEN g % 3 = 0 THEN NULL ELSE md5(random()::text) || md5(random()::text) END,
			sa.id, now(), now()
		FROM g JOIN sa ON sa.i = g.g % g.accounts`, n-pending)
	return err
}

// deliverEmail starts a local SMTP server (clc mailcatcher) and one `clc
// worker`, makes every queued email due, and counts how many the worker
// delivers a second.
func deliverEmail(ctx context.Context, out io.Writer, env []string, conn *pgx.Conn) (float64, error) {
	smtpAddr, httpAddr := freeAddr(), freeAddr()
	catcher, err := startServer(ctx, filepath.Join(work, "mailcatcher.log"), env, filepath.Join(work, "clc"),
		"mailcatcher", "-smtp", smtpAddr, "-http", httpAddr)
	if err != nil {
		return 0, err
	}
	defer catcher.stop()
	if err := waitUp(ctx, "http://"+httpAddr+"/"); err != nil {
		return 0, fmt.Errorf("mailcatcher: %w", err)
	}
	if _, err := conn.Exec(ctx, `UPDATE outbox SET next_attempt_at = now() - interval '1 second', locked_until = NULL,
		state = 'pending' WHERE state IN ('pending', 'sending')`); err != nil {
		return 0, err
	}
	var queued int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE state = 'pending'`).Scan(&queued); err != nil {
		return 0, err
	}
	step(out, "deliver %d queued emails to a local SMTP server with one clc worker, for 10s", queued)
	worker, err := startServer(ctx, filepath.Join(work, "worker.log"), append(env, "SMTP_URL=smtp://"+smtpAddr),
		filepath.Join(work, "clc"), "worker")
	if err != nil {
		return 0, err
	}
	defer worker.stop()
	sent := func() (int, error) {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE state = 'sent'`).Scan(&n)
		return n, err
	}
	// From its first delivery: the worker's start is not delivery.
	deadline := time.Now().Add(20 * time.Second)
	first, err := sent()
	for err == nil && time.Now().Before(deadline) {
		var n int
		if n, err = sent(); n > first {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return 0, err
	}
	from, began := 0, time.Now()
	if from, err = sent(); err != nil {
		return 0, err
	}
	time.Sleep(10 * time.Second)
	to, err := sent()
	if err != nil {
		return 0, err
	}
	return float64(to-from) / time.Since(began).Seconds(), nil
}

func step(out io.Writer, format string, args ...any) {
	fmt.Fprintf(out, "· "+format+"\n", args...)
}

// command runs name from the repository's root; its output goes to stderr
// unless the caller takes it.
func command(ctx context.Context, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd
}

// prepare migrates the database and loads the directory, unless it already
// holds exactly that many accounts. With grow, a smaller directory (as
// measureScaling leaves it) is topped up rather than loaded afresh.
func prepare(ctx context.Context, out io.Writer, o options, dbURL string, env []string, grow bool) error {
	clc := filepath.Join(work, "clc")
	have := -1
	if conn, err := pgx.Connect(ctx, dbURL); err == nil {
		// What a run requested is not the directory, and is cleared at the start of the next.
		_ = conn.QueryRow(ctx, `SELECT count(*) FROM smart_accounts WHERE domain NOT LIKE '%.`+benchDomain+`'`).Scan(&have)
		conn.Close(ctx)
	}
	if have == o.accounts && !o.fresh {
		step(out, "reuse the directory of %d accounts", have)
		if err := command(ctx, env, clc, "migrate").Run(); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		// A migration may have filled a table: measure it settled, as
		// autovacuum leaves it, with its statistics and visibility map.
		return vacuum(ctx, dbURL)
	}
	if grow && have > 0 && have < o.accounts {
		return seed(ctx, out, env, o.accounts-have, o.partners)
	}
	if have >= 0 {
		step(out, "drop the database (it holds %d accounts)", have)
		if err := recreateDatabase(ctx, dbURL); err != nil {
			return err
		}
	}
	step(out, "migrate")
	if err := command(ctx, env, clc, "migrate").Run(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return seed(ctx, out, env, o.accounts, o.partners)
}

func vacuum(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `VACUUM (ANALYZE)`)
	return err
}

func recreateDatabase(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	id := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+id+` WITH (FORCE)`); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `CREATE DATABASE `+id)
	return err
}

// heavyPartner is `clc seed scale`'s partner of about want accounts (300
// unless -partners has none near), or else the user with roles on the most
// accounts.
func heavyPartner(ctx context.Context, conn *pgx.Conn, want int) (string, error) {
	if p, err := partnerNear(ctx, conn, want); err != nil || p != nil {
		if err != nil {
			return "", err
		}
		return p.email, nil
	}
	var email string
	err := conn.QueryRow(ctx, `
		SELECT u.email FROM users u
		JOIN (SELECT user_id, count(*) AS n FROM memberships GROUP BY user_id ORDER BY n DESC LIMIT 1) m ON m.user_id = u.id`).Scan(&email)
	if err != nil {
		return "", fmt.Errorf("find the partner: %w", err)
	}
	return email, nil
}

// forgetEarlierSubmissions hands the accounts that earlier runs' submissions
// created to no one (created_by NULL, as for an account whose creator was
// removed), so that each run measures the partner's directory as the seed
// made it. Otherwise "Accounts you asked to have created" grows by every
// submission of every run, thousands a run: a filter over that section
// reads each of them (31 ms at 36,700), and the directory's figure would
// depend on how often the benchmark had run on this database.
func forgetEarlierSubmissions(ctx context.Context, out io.Writer, conn *pgx.Conn, partner string) error {
	tag, err := conn.Exec(ctx, `
		UPDATE smart_accounts SET created_by = NULL
		WHERE created_by = (SELECT id FROM users WHERE email = $1) AND domain LIKE '%.' || $2`, partner, benchDomain)
	if err != nil {
		return fmt.Errorf("forget earlier submissions: %w", err)
	}
	if n := tag.RowsAffected(); n > 0 {
		step(out, "hand %d accounts requested by earlier runs to no one", n)
		if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) smart_accounts`); err != nil {
			return fmt.Errorf("vacuum after forgetting earlier submissions: %w", err)
		}
	}
	return nil
}

// sampleQueries builds what people type into search, from accounts that
// exist: mostly the distinctive first word of a name, whole or begun, then
// whole names and domains, two words, part of a domain, a restricted
// account's entire name, a few common words, and queries that find nothing.
func sampleQueries(ctx context.Context, conn *pgx.Conn, rng *rand.Rand) ([]string, error) {
	type acct struct {
		name, domain string
	}
	sample := func(restricted bool, n int) ([]acct, error) {
		rows, err := conn.Query(ctx, `
			SELECT name, domain FROM smart_accounts TABLESAMPLE BERNOULLI (5) REPEATABLE (7)
			WHERE restricted = $1 AND status = 'active'
			LIMIT $2`, restricted, n)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (acct, error) {
			var a acct
			return a, r.Scan(&a.name, &a.domain)
		})
	}
	open, err := sample(false, 400)
	if err != nil {
		return nil, fmt.Errorf("sample accounts: %w", err)
	}
	restricted, err := sample(true, 40)
	if err != nil {
		return nil, fmt.Errorf("sample restricted accounts: %w", err)
	}
	if len(open) == 0 {
		return nil, errors.New("the directory is too small to sample queries from")
	}
	if len(restricted) == 0 { // a small directory may have none in the sample
		restricted = open
	}
	common := []string{"logistik", "systems", "zürich", "bank", "schweiz", "software", "müller", "partners"}
	var qs []string
	for len(qs) < 400 {
		a := open[rng.IntN(len(open))]
		words := strings.Fields(a.name)
		first := words[0]
		var q string
		switch p := rng.IntN(100); {
		case p < 30:
			q = variant(rng, first)
		case p < 45:
			r := []rune(first)
			q = variant(rng, string(r[:min(len(r), 4+rng.IntN(3))]))
		case p < 60:
			q = variant(rng, a.name)
		case p < 70:
			q = a.domain
		case p < 80 && len(words) > 1:
			q = variant(rng, words[0]+" "+words[1])
		case p < 85:
			q = a.domain[:min(len(a.domain), strings.IndexByte(a.domain, '-')+3)]
		case p < 90:
			q = restricted[rng.IntN(len(restricted))].name
		case p < 95:
			q = common[rng.IntN(len(common))]
		default:
			q = fmt.Sprintf("qzx%c%c%c", 'a'+rune(rng.IntN(26)), 'a'+rune(rng.IntN(26)), 'a'+rune(rng.IntN(26)))
		}
		if len([]rune(strings.TrimSpace(q))) >= 3 {
			qs = append(qs, url.QueryEscape(q))
		}
	}
	return qs, nil
}

// variant writes a query as people do: as the name has it, in lowercase,
// or lowercase without its accents.
func variant(rng *rand.Rand, s string) string {
	switch rng.IntN(3) {
	case 0:
		return s
	case 1:
		return strings.ToLower(s)
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, strings.ToLower(s))
	if err != nil {
		return s
	}
	return folded
}

// directorySectionPaths are the partner's directory sections, each a path
// under the directory's: first and later pages of its longest sections, and
// filters. A later page is the link the page before it shows: it names the
// row the page starts after (keyset paging), which sectionPageLink reads
// from the database.
func directorySectionPaths(ctx context.Context, conn *pgx.Conn, email string) ([]string, error) {
	out := []string{"/access", "/created", "/access?q=gmbh", "/domain", "/created?q=ka"}
	for _, p := range []struct {
		sec  account.Section
		page int
	}{{account.SectionAccess, 2}, {account.SectionAccess, 5}, {account.SectionAccess, 9}, {account.SectionCreated, 2}, {account.SectionRequested, 2}} {
		link, err := sectionPageLink(ctx, conn, email, p.sec, p.page)
		if err != nil {
			return nil, err
		}
		out = append(out, link)
	}
	return out, nil
}

// sectionPageLink is the link to page n of a section of user email's
// directory, as the page before it writes it: the key of that page's last
// row in after=, and the page's number. A section shorter than that gives
// its first page.
func sectionPageLink(ctx context.Context, conn *pgx.Conn, email string, sec account.Section, n int) (string, error) {
	var sql string
	switch sec {
	case account.SectionAccess:
		sql = `SELECT a.smart_account_id, a.name_folded, NULL::timestamptz FROM accessible_accounts a JOIN users u ON u.id = a.user_id
			WHERE u.email = $1 ORDER BY a.name_folded, a.smart_account_id OFFSET $2 LIMIT 1`
	case account.SectionCreated:
		sql = `SELECT c.id, '', c.created_at FROM smart_accounts c JOIN users u ON u.id = c.created_by
			WHERE u.email = $1 ORDER BY c.created_at DESC, c.id DESC OFFSET $2 LIMIT 1`
	case account.SectionRequested:
		sql = `SELECT r.id, '', r.created_at FROM access_requests r JOIN users u ON u.id = r.user_id
			WHERE u.email = $1 AND r.status IN ('pending', 'declined') ORDER BY r.created_at DESC, r.id DESC OFFSET $2 LIMIT 1`
	default:
		return "", fmt.Errorf("no page links for section %s", sec)
	}
	var k account.SectionKey
	var at *time.Time
	err := conn.QueryRow(ctx, sql, email, (n-1)*account.DirectoryPageSize-1).Scan(&k.ID, &k.Name, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return "/" + string(sec), nil
	}
	if err != nil {
		return "", fmt.Errorf("page %d of %s: %w", n, sec, err)
	}
	if at != nil {
		k.At = *at
	}
	return "/" + string(sec) + "?" + url.Values{"after": {k.String(sec)}, "page": {strconv.Itoa(n)}}.Encode(), nil
}

func prefixed(prefix string, s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = prefix + x
	}
	return out
}

func suffixed(s []string, suffix string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x + suffix
	}
	return out
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is a process the benchmark started.
type server struct {
	cmd  *exec.Cmd
	log  *os.File
	once sync.Once
}

// startServer starts a server process logging to logPath.
func startServer(ctx context.Context, logPath string, env []string, name string, args ...string) (*server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return &server{cmd: cmd, log: logFile}, nil
}

// stop ends the process (once, however often it is called).
func (s *server) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
		s.log.Close()
	})
}

// status reads a field of the process's /proc status, in KiB.
func (s *server) status(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var n int64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &n); err != nil {
				return 0
			}
			return n
		}
	}
	return 0
}

// peakRSS is the most memory the process held at once so far, in KiB.
func (s *server) peakRSS() int64 { return s.status("VmHWM") }

// sampleRSS samples the process's RSS every 50 ms until the returned
// function is called, which gives the largest seen, in KiB.
func (s *server) sampleRSS() func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			if n := s.status("VmRSS"); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

func waitUp(ctx context.Context, u string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within 30s", u)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// signIn logs in through the form, as a browser does, and returns the
// session cookie as a Cookie header.
func signIn(ctx context.Context, base, email string) (string, error) {
	form := url.Values{"email": {email}, "password": {"scale-password"}, "next": {"/clc"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "clc_session" && resp.StatusCode == http.StatusSeeOther {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("sign in as %s: status %d, no session cookie", email, resp.StatusCode)
}

type target struct {
	urls   []string
	cookie string
}

// smoke checks that a page answers 200 before it is measured, so a run
// never measures error pages.
func smoke(ctx context.Context, name string, t target) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.urls[0], nil)
	if err != nil {
		return err
	}
	if t.cookie != "" {
		req.Header.Set("Cookie", t.cookie)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: GET %s answers %d", name, t.urls[0], resp.StatusCode)
	}
	return nil
}

type result struct {
	Name      string  `json:"name"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	RPS       float64 `json:"rps"`
	Mean      float64 `json:"mean_ms"`
	P50       float64 `json:"p50_ms"`
	P90       float64 `json:"p90_ms"`
	P99       float64 `json:"p99_ms"`
	Max       float64 `json:"max_ms"`
	First     string  `json:"first_error"`
	Exhausted bool    `json:"exhausted"`
	Shed      int     `json:"shed"`  // answers 503 with Retry-After
	After     *result `json:"after"` // the second after an overload's open loop
	// CPU per request of a closed loop, in ms: the server's and
	// PostgreSQL's (cpu.go); 0 when not measured.
	CPUServer, CPUPostgres float64 `json:"-"`
}

// drive runs bench/load against t, closed-loop or at rate, and reads its
// result.
func (m *measurer) drive(ctx context.Context, name string, t target, once bool, rate float64, after ...time.Duration) (result, error) {
	file := strings.ReplaceAll(name, " ", "-")
	urlsPath := filepath.Join(work, file+".urls")
	if err := os.WriteFile(urlsPath, []byte(strings.Join(t.urls, "\n")+"\n"), 0o644); err != nil {
		return result{}, err
	}
	d, warm := m.o.duration, m.o.warmup
	if rate > 0 {
		d, warm = m.o.openFor, time.Second
	}
	// A closed loop's CPU is read around it, from the server that answers.
	server := m.answering(t)
	var before cpuSample
	if rate == 0 && server != nil {
		before = sampleCPU(server.cmd.Process.Pid, m.postmaster)
	}
	began := time.Now()
	var stdout bytes.Buffer
	cmd := command(ctx, nil, filepath.Join(work, "load"), "-name", name, "-urls", urlsPath, "-cookie", t.cookie,
		"-clients", fmt.Sprint(m.o.clients), "-duration", d.String(), "-warmup", warm.String(),
		"-rate", fmt.Sprint(rate), fmt.Sprintf("-once=%t", once))
	if len(after) > 0 {
		cmd.Args = append(cmd.Args, "-after", after[0].String())
	}
	cmd.Env = os.Environ()
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("load %s: %w", name, err)
	}
	var r result
	if err := json.NewDecoder(bufio.NewReader(&stdout)).Decode(&r); err != nil {
		return result{}, fmt.Errorf("load %s: read result: %w", name, err)
	}
	if rate == 0 && server != nil {
		srv, pg := sampleCPU(server.cmd.Process.Pid, m.postmaster).since(before)
		r.CPUServer, r.CPUPostgres = cpuPerRequest(srv, pg, time.Since(began), r.RPS)
	}
	return r, nil
}

// answering is the server t's requests go to, of those m measures the CPU
// of; nil for another.
func (m *measurer) answering(t target) *server {
	if len(t.urls) == 0 || m.postmaster == 0 {
		return nil
	}
	for addr, s := range m.servers {
		if strings.Contains(t.urls[0], "://"+addr+"/") {
			return s
		}
	}
	return nil
}

// sequentialScans counts sequential scans of the tables search reads so far.
func sequentialScans(ctx context.Context, conn *pgx.Conn) (int64, error) {
	// The statistics collector reports with a delay; let it catch up.
	time.Sleep(time.Second)
	var n int64
	err := conn.QueryRow(ctx, `SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables
		WHERE relname IN ('smart_accounts', 'search_suffixes')`).Scan(&n)
	return n, err
}
