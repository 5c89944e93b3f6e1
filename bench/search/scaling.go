package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// A page's time per request may grow this much from the smallest data size
// to the largest before the bench says it grows with data it does not show.
const goalGrowth = 2.0

// scalePartner is a heavy partner of `clc seed scale`, found once at the
// first size that holds one near the size wanted, and measured at every
// size from then on: the same partner, the same accounts, more data
// around them.
type scalePartner struct {
	want     int // the accounts asked for (-partners)
	email    string
	accounts int // the accounts of their access section
	from     int // the first data size they were measured at
}

// scalePoint is one page measured at one data size.
type scalePoint struct {
	series string // the page, and whose
	size   int
	r      result
}

// scaling is how each page's cost grew with the data.
type scaling struct {
	sizes    []int
	clients  int
	partners []*scalePartner
	series   []string // in the order measured
	points   []scalePoint
	// plot is the PNG drawn from the points, or why there is none.
	plot, plotErr string
}

// measureScaling loads the directory in steps, to each of -sizes, and at
// each measures the directory overview, a section's first page, its last
// page and a filtered section for each partner of -partners, and search,
// each for a few seconds after a short warm-up, with a `clc serve` started
// afresh on the grown data. It leaves the database at the largest size.
func measureScaling(ctx context.Context, out io.Writer, o options, dbURL string, env []string) (*scaling, error) {
	sc := &scaling{sizes: o.sizes, clients: o.scaleClients}
	step(out, "how cost grows: %s Smart Accounts, partners of %s accounts, %d clients %s a page after %s warm-up",
		joinInts(o.sizes), joinInts(o.partners), o.scaleClients, o.scaleFor, o.scaleWarmup)
	if err := recreateDatabase(ctx, dbURL); err != nil {
		return nil, err
	}
	clcBin := filepath.Join(work, "clc")
	if err := command(ctx, env, clcBin, "migrate").Run(); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	short := o
	short.duration, short.warmup, short.clients = o.scaleFor, o.scaleWarmup, o.scaleClients
	have := 0
	var queries []string
	for _, size := range o.sizes {
		began := time.Now()
		if err := seed(ctx, out, env, size-have, o.partners); err != nil {
			return nil, err
		}
		step(out, "grew the directory from %d to %d accounts in %s", have, size, time.Since(began).Round(time.Second))
		have = size
		for _, want := range o.partners {
			if slices.ContainsFunc(sc.partners, func(p *scalePartner) bool { return p.want == want }) {
				continue
			}
			p, err := partnerNear(ctx, conn, want)
			if err != nil {
				return nil, err
			}
			if p != nil {
				p.from = size
				sc.partners = append(sc.partners, p)
				step(out, "partner of about %d accounts: %s (%d in their access section)", want, p.email, p.accounts)
			}
		}
		if queries == nil {
			// The same queries at every size: what grows is the data they search.
			if queries, err = sampleQueries(ctx, conn, rand.New(rand.NewPCG(1, 2))); err != nil {
				return nil, err
			}
		}
		if err := sc.measure(ctx, out, conn, short, env, size, queries); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// measure starts `clc serve` on the data as it is now and measures each
// page at size.
func (sc *scaling) measure(ctx context.Context, out io.Writer, conn *pgx.Conn, o options, env []string, size int, queries []string) error {
	clcAddr := freeAddr()
	srv, err := startServer(ctx, filepath.Join(work, "clc-scale.log"), append(env, "CLC_ADDR="+clcAddr, "SMTP_URL=smtp://127.0.0.1:1"),
		filepath.Join(work, "clc"), "serve")
	if err != nil {
		return err
	}
	defer srv.stop()
	base := "http://" + clcAddr
	if err := waitUp(ctx, base+"/readyz"); err != nil {
		return fmt.Errorf("clc serve: %w (see %s)", err, filepath.Join(work, "clc-scale.log"))
	}
	m := &measurer{o: o, out: io.Discard, clc: srv, results: map[string]result{}}
	point := func(series string, t target) error {
		if err := smoke(ctx, series, t); err != nil {
			return err
		}
		r, err := m.drive(ctx, fmt.Sprintf("scale %d %s", size, series), t, false, 0)
		if err != nil {
			return err
		}
		if !slices.Contains(sc.series, series) {
			sc.series = append(sc.series, series)
		}
		sc.points = append(sc.points, scalePoint{series: series, size: size, r: r})
		step(out, "%8d accounts  %-44s %8.2f ms  %6.0f req/s", size, series, r.Mean, r.RPS)
		if r.Shed > 0 || r.Errors > 0 {
			step(out, "%8d accounts  %s: %d refused at once (503), %d errors (%s)", size, series, r.Shed, r.Errors, r.First)
		}
		return nil
	}
	var searcher string
	for _, p := range sc.partners {
		cookie, err := signIn(ctx, base, p.email)
		if err != nil {
			return err
		}
		if searcher == "" || p.want == nearestWant(sc.partners, 300) {
			searcher = cookie
		}
		who := fmt.Sprintf(", partner of %s", count(p.want))
		lastPage, err := sectionPageLink(ctx, conn, p.email, account.SectionAccess, max(1, (p.accounts+account.DirectoryPageSize-1)/account.DirectoryPageSize))
		if err != nil {
			return err
		}
		for _, x := range []struct{ page, path string }{
			{"directory overview", "/clc/directory"},
			{"section, first page", "/clc/directory/access"},
			{"section, last page", "/clc/directory" + lastPage},
			{"created, filtered", "/clc/directory/created?q=ka"},
		} {
			if err := point(x.page+who, target{urls: []string{base + x.path}, cookie: cookie}); err != nil {
				return err
			}
		}
	}
	if searcher == "" {
		return errors.New("no partner to search as: give -partners")
	}
	return point("search", target{urls: prefixed(base+"/clc/search?q=", queries), cookie: searcher})
}

// seed adds n accounts to the directory, after what it holds.
func seed(ctx context.Context, out io.Writer, env []string, n int, partners []int) error {
	step(out, "clc seed scale --accounts %d --partners %s", n, joinInts(partners))
	cmd := command(ctx, env, filepath.Join(work, "clc"), "seed", "scale", "--accounts", strconv.Itoa(n), "--partners", joinInts(partners))
	cmd.Stdout = out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

// partnerNear is the user holding a role on the number of accounts nearest
// want, between half and twice as many, the earliest such user when several
// are as near; nil when there is none.
func partnerNear(ctx context.Context, conn *pgx.Conn, want int) (*scalePartner, error) {
	p := &scalePartner{want: want}
	err := conn.QueryRow(ctx, `
		SELECT u.email, (SELECT count(*) FROM accessible_accounts a WHERE a.user_id = u.id)
		FROM (SELECT user_id, count(DISTINCT smart_account_id) AS n FROM memberships GROUP BY user_id) m
		JOIN users u ON u.id = m.user_id
		WHERE m.n BETWEEN $1 / 2 AND $1 * 2
		ORDER BY abs(m.n - $1), u.id LIMIT 1`, want).Scan(&p.email, &p.accounts)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find a partner of about %d accounts: %w", want, err)
	}
	return p, nil
}

// nearestWant is the partner size of ps nearest n.
func nearestWant(ps []*scalePartner, n int) int {
	best := -1
	for _, p := range ps {
		if best < 0 || abs(p.want-n) < abs(best-n) {
			best = p.want
		}
	}
	return best
}

func abs(n int) int { return max(n, -n) }

// at is the series' point at size, if measured.
func (sc *scaling) at(series string, size int) (result, bool) {
	for _, p := range sc.points {
		if p.series == series && p.size == size && p.r.Requests > 0 {
			return p.r, true
		}
	}
	return result{}, false
}

// growth is how much the series' time per request grew from its first
// size to its last.
func (sc *scaling) growth(series string) (ratio float64, from, to int, ok bool) {
	var first, last *scalePoint
	for i := range sc.points {
		if p := &sc.points[i]; p.series == series && p.r.Mean > 0 {
			if first == nil {
				first = p
			}
			last = p
		}
	}
	if first == nil || first == last {
		return 0, 0, 0, false
	}
	return last.r.Mean / first.r.Mean, first.size, last.size, true
}

// table prints page × size: time per request and requests a second, and
// flags what grows with the data.
func (sc *scaling) table(out io.Writer, md bool) {
	head := []string{"page"}
	for _, s := range sc.sizes {
		head = append(head, count(s)+" ms", count(s)+" req/s")
	}
	head = append(head, "growth")
	var rows [][]string
	for _, series := range sc.series {
		row := []string{series}
		for _, s := range sc.sizes {
			if r, ok := sc.at(series, s); ok {
				row = append(row, fmt.Sprintf("%.2f", r.Mean), fmt.Sprintf("%.0f", r.RPS))
			} else {
				row = append(row, "-", "-")
			}
		}
		g := "-"
		if ratio, _, _, ok := sc.growth(series); ok {
			g = fmt.Sprintf("%.2fx", ratio)
			if ratio > goalGrowth {
				g += " grows with data it does not show"
			}
		}
		rows = append(rows, append(row, g))
	}
	if md {
		fmt.Fprintf(out, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
		for _, row := range rows {
			fmt.Fprintf(out, "| %s |\n", strings.Join(row, " | "))
		}
		return
	}
	width := 10
	for _, series := range sc.series {
		width = max(width, len(series))
	}
	fmt.Fprintf(out, "%-*s", width, head[0])
	for _, h := range head[1:] {
		fmt.Fprintf(out, " %12s", h)
	}
	fmt.Fprintln(out)
	for _, row := range rows {
		fmt.Fprintf(out, "%-*s", width, row[0])
		for _, c := range row[1 : len(row)-1] {
			fmt.Fprintf(out, " %12s", c)
		}
		fmt.Fprintf(out, " %s\n", row[len(row)-1])
	}
}

// print writes what the scaling measured, for the terminal.
func (sc *scaling) print(out io.Writer) {
	fmt.Fprintf(out, "\nhow cost grows with the data: mean time per request (ms) at %d clients and requests a second; a page whose time grows more than %.0fx from its smallest size to its largest grows with data it does not show\n",
		sc.clients, goalGrowth)
	for _, p := range sc.partners {
		fmt.Fprintf(out, "  partner of %s: %s, %d accounts in their access section, measured from %s accounts\n", count(p.want), p.email, p.accounts, count(p.from))
	}
	fmt.Fprintln(out)
	sc.table(out, false)
	if sc.plot != "" {
		fmt.Fprintf(out, "plot: %s\n", sc.plot)
	} else if sc.plotErr != "" {
		fmt.Fprintf(out, "no plot: %s\n", sc.plotErr)
	}
}

// draw writes the plot beside the results, with bench/plot (a module of
// its own, so that gonum/plot stays out of the portal's).
func (sc *scaling) draw(ctx context.Context, out io.Writer, path string) {
	type point struct {
		X float64 `json:"x"`
		Y float64 `json:"y"`
	}
	type line struct {
		Panel  string  `json:"panel"`
		Name   string  `json:"name"`
		Points []point `json:"points"`
	}
	fig := struct {
		Title  string `json:"title"`
		XLabel string `json:"x_label"`
		YLabel string `json:"y_label"`
		Series []line `json:"series"`
	}{Title: "How a page's time grows with the data", XLabel: "Smart Accounts", YLabel: "mean ms per request"}
	for _, series := range sc.series {
		// A panel for each partner's pages, one for search.
		l := line{Panel: series, Name: series}
		if i := strings.LastIndex(series, ", partner of "); i >= 0 {
			l.Panel, l.Name = series[i+2:], series[:i]
		}
		for _, size := range sc.sizes {
			if r, ok := sc.at(series, size); ok {
				l.Points = append(l.Points, point{float64(size), r.Mean})
			}
		}
		fig.Series = append(fig.Series, l)
	}
	// The partners' panels first, in the order of their size, search last.
	isSearch := func(l line) int {
		if l.Panel == "search" {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(fig.Series, func(a, b line) int { return cmp.Compare(isSearch(a), isSearch(b)) })
	err := func() error {
		b, err := json.Marshal(fig)
		if err != nil {
			return err
		}
		in := filepath.Join(work, "scaling.json")
		if err := os.WriteFile(in, b, 0o644); err != nil {
			return err
		}
		abs, err := filepath.Abs(filepath.Join(work, "plot"))
		if err != nil {
			return err
		}
		if err := command(ctx, os.Environ(), "go", "build", "-C", "bench/plot", "-o", abs, ".").Run(); err != nil {
			return fmt.Errorf("build bench/plot: %w", err)
		}
		return command(ctx, nil, abs, "-in", in, "-out", path).Run()
	}()
	if err != nil {
		sc.plotErr = err.Error()
		step(out, "no plot: %v", err)
		return
	}
	sc.plot = path
	step(out, "plotted %s", path)
}

// count writes a size as people say it: 30, 300, 30k, 1M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// parseSizes reads a comma-separated list of positive whole numbers,
// ascending; "" is none.
func parseSizes(flagName, s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-%s: %q is not a whole number of at least 1", flagName, f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("-%s: give the numbers in ascending order", flagName)
		}
		out = append(out, n)
	}
	return out, nil
}

// grownPartners are the partner sizes of -partners, as partners to choose
// among.
func grownPartners(wants []int) []*scalePartner {
	out := make([]*scalePartner, len(wants))
	for i, w := range wants {
		out[i] = &scalePartner{want: w}
	}
	return out
}
