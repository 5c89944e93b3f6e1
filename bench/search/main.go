// Command search benchmarks Smart Account search (and its page before a
// query, the signed-in frame alone) and the directory at scale, against a
// baseline. It starts a throwaway PostgreSQL (scripts/pg.sh, port 54335,
// .tmp/pg-bench), migrates it and loads a synthetic directory with `clc seed
// scale` (kept between runs when it already holds that many accounts), starts
// `clc serve` and bench/baseline, signs in as a partner through the login
// form, and drives each page from bench/load, a process of its own, with
// closed-loop clients. It prints throughput and latency, the ratios to the
// baseline, and whether any search read smart_accounts or search_suffixes
// sequentially.
//
//	go run ./bench/search -accounts 1000000
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
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// The cluster the benchmark owns; other clusters on this machine are not its business.
const (
	pgDir  = ".tmp/pg-bench"
	pgPort = "54335"
	work   = ".tmp/bench"
)

// Goals for the search page.
const (
	goalP99      = 20.0 // milliseconds
	goalFraction = 0.5  // of the baseline's throughput
)

type options struct {
	accounts int
	clients  int
	duration time.Duration
	warmup   time.Duration
	fresh    bool
	keep     bool
}

func main() {
	var o options
	flag.IntVar(&o.accounts, "accounts", 200000, "Smart Accounts in the directory")
	flag.IntVar(&o.clients, "clients", 32, "concurrent clients")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "how long each page is measured")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "load before each measurement, not counted")
	flag.BoolVar(&o.fresh, "fresh", false, "load the directory again even if the database holds one of that size")
	flag.BoolVar(&o.keep, "keep", false, "leave PostgreSQL running afterwards")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run from the repository's root: go run ./bench/search")
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	bins := map[string]string{"clc": "./cmd/clc", "baseline": "./bench/baseline", "load": "./bench/load"}
	for name, pkg := range bins {
		step(out, "build %s", pkg)
		if err := command(ctx, nil, "go", "build", "-o", filepath.Join(work, name), pkg).Run(); err != nil {
			return fmt.Errorf("build %s: %w", pkg, err)
		}
	}

	step(out, "start PostgreSQL on port %s (%s)", pgPort, pgDir)
	var urlOut bytes.Buffer
	start := command(ctx, nil, "scripts/pg.sh", "start", pgDir, pgPort)
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
	if err := prepare(ctx, out, o, dbURL, env); err != nil {
		return err
	}

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	partner, err := heavyPartner(ctx, conn)
	if err != nil {
		return err
	}
	queries, err := sampleQueries(ctx, conn, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return err
	}

	clcAddr, baseAddr := freeAddr(), freeAddr()
	step(out, "start clc serve on %s and the baseline on %s", clcAddr, baseAddr)
	stopClc, err := startServer(ctx, filepath.Join(work, "clc.log"), append(env, "CLC_ADDR="+clcAddr, "SMTP_URL=smtp://127.0.0.1:1"),
		filepath.Join(work, "clc"), "serve")
	if err != nil {
		return err
	}
	defer stopClc()
	stopBase, err := startServer(ctx, filepath.Join(work, "baseline.log"), env, filepath.Join(work, "baseline"), "-addr", baseAddr, "-db", dbURL)
	if err != nil {
		return err
	}
	defer stopBase()
	if err := waitUp(ctx, "http://"+clcAddr+"/readyz"); err != nil {
		return fmt.Errorf("clc serve: %w (see %s)", err, filepath.Join(work, "clc.log"))
	}
	if err := waitUp(ctx, "http://"+baseAddr+"/search?q=abc"); err != nil {
		return fmt.Errorf("baseline: %w (see %s)", err, filepath.Join(work, "baseline.log"))
	}
	step(out, "sign in as %s", partner)
	cookie, err := signIn(ctx, "http://"+clcAddr, partner)
	if err != nil {
		return err
	}

	targets := []target{
		{name: "search", urls: prefixed("http://"+clcAddr+"/clc/search?q=", queries), cookie: cookie},
		// The search page before a query: the signed-in frame (session, user,
		// menu, layout) alone, to tell its cost from the search's.
		{name: "form", urls: []string{"http://" + clcAddr + "/clc/search"}, cookie: cookie},
		{name: "directory", urls: prefixed("http://"+clcAddr, directoryPaths()), cookie: cookie},
		{name: "baseline", urls: prefixed("http://"+baseAddr+"/search?q=", queries)},
	}
	for _, t := range targets {
		if err := smoke(ctx, t); err != nil {
			return err
		}
	}
	seqBefore, err := sequentialScans(ctx, conn)
	if err != nil {
		return err
	}
	results := map[string]result{}
	for _, t := range targets {
		step(out, "load %s: %d clients, %s after %s warm-up, %d distinct URLs", t.name, o.clients, o.duration, o.warmup, len(t.urls))
		r, err := drive(ctx, o, t)
		if err != nil {
			return err
		}
		results[t.name] = r
	}
	seqAfter, err := sequentialScans(ctx, conn)
	if err != nil {
		return err
	}
	report(out, o, results, seqAfter-seqBefore)
	return nil
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
// holds exactly that many accounts.
func prepare(ctx context.Context, out io.Writer, o options, dbURL string, env []string) error {
	clc := filepath.Join(work, "clc")
	have := -1
	if conn, err := pgx.Connect(ctx, dbURL); err == nil {
		_ = conn.QueryRow(ctx, `SELECT count(*) FROM smart_accounts`).Scan(&have)
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
	step(out, "clc seed scale --accounts %d", o.accounts)
	seed := command(ctx, env, clc, "seed", "scale", "--accounts", fmt.Sprint(o.accounts))
	seed.Stdout = out
	if err := seed.Run(); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
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

// heavyPartner is the user with roles on the most accounts: `clc seed
// scale`'s partner, whose directory is the longest.
func heavyPartner(ctx context.Context, conn *pgx.Conn) (string, error) {
	var email string
	err := conn.QueryRow(ctx, `
		SELECT u.email FROM users u
		JOIN (SELECT user_id, count(*) AS n FROM memberships GROUP BY user_id ORDER BY n DESC LIMIT 1) m ON m.user_id = u.id`).Scan(&email)
	if err != nil {
		return "", fmt.Errorf("find the partner: %w", err)
	}
	return email, nil
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
	if len(open) == 0 || len(restricted) == 0 {
		return nil, errors.New("the directory is too small to sample queries from")
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

// directoryPaths are the partner's directory: its first page, later pages
// of its longest section, and filters.
func directoryPaths() []string {
	return []string{
		"/clc/directory", "/clc/directory?access_page=2", "/clc/directory", "/clc/directory?access_page=5",
		"/clc/directory?created_page=2", "/clc/directory?q=gmbh", "/clc/directory", "/clc/directory?access_page=9",
		"/clc/directory?q=ka", "/clc/directory?requested_page=2",
	}
}

func prefixed(prefix string, s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = prefix + x
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

// startServer starts a server process logging to logPath; stop ends it.
func startServer(ctx context.Context, logPath string, env []string, name string, args ...string) (stop func(), err error) {
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
	return func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
	}, nil
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
		case <-time.After(100 * time.Millisecond):
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
	name   string
	urls   []string
	cookie string
}

// smoke checks that a page answers 200 before it is measured, so a run
// never measures error pages.
func smoke(ctx context.Context, t target) error {
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
		return fmt.Errorf("%s: GET %s answers %d", t.name, t.urls[0], resp.StatusCode)
	}
	return nil
}

type result struct {
	Name     string  `json:"name"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	First    string  `json:"first_error"`
}

// drive runs bench/load against t and reads its result.
func drive(ctx context.Context, o options, t target) (result, error) {
	urlsPath := filepath.Join(work, t.name+".urls")
	if err := os.WriteFile(urlsPath, []byte(strings.Join(t.urls, "\n")+"\n"), 0o644); err != nil {
		return result{}, err
	}
	var stdout bytes.Buffer
	cmd := command(ctx, nil, filepath.Join(work, "load"), "-name", t.name, "-urls", urlsPath, "-cookie", t.cookie,
		"-clients", fmt.Sprint(o.clients), "-duration", o.duration.String(), "-warmup", o.warmup.String())
	cmd.Env = os.Environ()
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("load %s: %w", t.name, err)
	}
	var r result
	if err := json.NewDecoder(bufio.NewReader(&stdout)).Decode(&r); err != nil {
		return result{}, fmt.Errorf("load %s: read result: %w", t.name, err)
	}
	return r, nil
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

func report(out io.Writer, o options, rs map[string]result, seqScans int64) {
	base := rs["baseline"]
	fmt.Fprintf(out, "\n%d Smart Accounts, %d clients, %s per page after %s warm-up\n\n", o.accounts, o.clients, o.duration, o.warmup)
	fmt.Fprintf(out, "%-10s %9s %9s %9s %9s %9s %7s %12s\n", "page", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "vs baseline")
	for _, name := range []string{"search", "form", "directory", "baseline"} {
		r := rs[name]
		fmt.Fprintf(out, "%-10s %9.0f %9.2f %9.2f %9.2f %9.2f %7d %11.2fx\n", name, r.RPS, r.P50, r.P90, r.P99, r.Max, r.Errors, r.RPS/base.RPS)
		if r.First != "" {
			fmt.Fprintf(out, "           first error: %s\n", r.First)
		}
	}
	s := rs["search"]
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	fmt.Fprintf(out, "\nsearch p99 %.2f ms < %.0f ms: %s\n", s.P99, goalP99, verdict(s.P99 < goalP99))
	fmt.Fprintf(out, "search throughput %.2f of the baseline's >= %.1f: %s\n", s.RPS/base.RPS, goalFraction, verdict(s.RPS/base.RPS >= goalFraction))
	fmt.Fprintf(out, "sequential scans of smart_accounts and search_suffixes during the runs: %d\n", seqScans)
}
