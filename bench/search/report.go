package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// The goals of issue 20 (its table), on a 2-core machine: requests a
// second as a share of the one-query baseline's, unless said otherwise.
const (
	goalFramework   = 0.7 // of a page's same-work baseline
	goalHome        = 0.7
	goalDirectory   = 0.25 // the directory overview
	goalSection     = 0.35 // a directory section's page
	goalSearch      = 0.3
	goalSearchP99   = 25.0 // ms, 32 clients
	goalAccountPage = 0.5
	goalPending     = 0.7  // the Pending Request page
	goalOpenP99     = 10.0 // ms, every read page at the open loop's rate
	goalSubmitRate  = 500.0
	goalMailRate    = 500.0
	goalRSS         = 150 * 1024 // KiB
	goalReady       = time.Second
	// At twice a page's capacity (issue 20): the requests admitted, and
	// the second after the load stops.
	goalOverloadP99 = 100.0 // ms
)

// readPages are the pages that only read.
var readPages = map[string]bool{"home": true, "search": true, "directory": true, "directory section": true, "account": true, "pending": true, "access requests": true}

type report struct {
	o        options
	commit   string // git describe of what was measured
	partner  string
	pages    []string
	results  map[string]result
	rss      map[string]int64
	peakRSS  int64
	ready    time.Duration
	mailRate float64
	seqScans int64
	skipped  []string
	// overloads are the pages driven at twice their capacity.
	overloads []string
	// wrk is the second opinion on the pages of wrkOrder.
	wrk      map[string]wrkResult
	wrkOrder []string
	// scaling is how cost grew with the data, when measured.
	scaling *scaling
}

func (r report) print(out io.Writer) {
	r.table(out, false)
	r.cpuTable(out)
	r.secondOpinions(out)
	if r.scaling != nil {
		r.scaling.print(out)
	}
	fmt.Fprintln(out)
	r.goals(out)
}

// write puts the table, the machine and the date in path.
func (r report) write(path string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Benchmark results\n\nWritten by `make bench` (`go run ./bench/search`); every figure below is from one run.\n\n")
	fmt.Fprintf(&b, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- machine: %s\n", machine())
	fmt.Fprintf(&b, "- commit: %s\n", r.commit)
	fmt.Fprintf(&b, "- data: %d Smart Accounts (`clc seed scale`); pages as %s\n", r.o.accounts, r.partner)
	fmt.Fprintf(&b, "- load: %d closed-loop clients for %s after %s warm-up; open loop %.0f requests/s for %s\n\n",
		r.o.clients, r.o.duration, r.o.warmup, r.o.rate, r.o.openFor)
	b.WriteString("```\n")
	r.table(&b, true)
	r.cpuTable(&b)
	r.secondOpinions(&b)
	b.WriteString("```\n")
	if sc := r.scaling; sc != nil {
		fmt.Fprintf(&b, "\n## How cost grows with the data\n\n")
		fmt.Fprintf(&b, "One database grown in steps (`clc seed scale` adds to what it holds), a fresh `clc serve` at each size; "+
			"each page %d closed-loop clients for %s after %s warm-up. Mean time per request (ms) and requests a second; "+
			"the growth is the time's, from a page's smallest size to its largest, and more than %.0fx is flagged "+
			"as growing with data it does not show.\n\n", r.o.scaleClients, r.o.scaleFor, r.o.scaleWarmup, goalGrowth)
		for _, p := range sc.partners {
			fmt.Fprintf(&b, "- partner of %s: %d accounts in their access section, measured from %s accounts\n", count(p.want), p.accounts, count(p.from))
		}
		b.WriteString("\n")
		sc.table(&b, true)
		if sc.plot != "" {
			fmt.Fprintf(&b, "\n![Mean time per request over the number of Smart Accounts](%s)\n", filepath.Base(sc.plot))
		}
	}
	b.WriteString("\n## Goals (issue 20)\n\n```\n")
	r.goals(&b)
	b.WriteString("```\n")
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func (r report) table(out io.Writer, md bool) {
	one := r.results["one-query baseline"]
	fmt.Fprintf(out, "\n%d Smart Accounts; closed loop %d clients, open loop %.0f/s\n\n", r.o.accounts, r.o.clients, r.o.rate)
	fmt.Fprintf(out, "%-16s %8s %8s %8s %11s %9s %9s %9s %8s %7s\n", "page", "req/s", "p50 ms", "p99 ms",
		"open p99", "same req/s", "vs same", "vs 1-query", "RSS MB", "errors")
	for _, name := range r.pages {
		c, o, s := r.results[name], r.results[name+" open"], r.results[name+" same"]
		vsSame := "-"
		if s.RPS > 0 {
			vsSame = fmt.Sprintf("%.2fx", c.RPS/s.RPS)
		}
		sameRPS := "-"
		if s.RPS > 0 {
			sameRPS = fmt.Sprintf("%.0f", s.RPS)
		}
		openP99 := fmt.Sprintf("%.2f", o.P99)
		if o.Requests > 0 && o.RPS < 0.9*r.o.rate && !o.Exhausted {
			openP99 += fmt.Sprintf(" (%.0f/s)", o.RPS)
		}
		fmt.Fprintf(out, "%-16s %8.0f %8.2f %8.2f %11s %9s %9s %9.2fx %8.1f %7d\n", name, c.RPS, c.P50, c.P99, openP99,
			sameRPS, vsSame, c.RPS/one.RPS, float64(r.rss[name])/1024, c.Errors+o.Errors+s.Errors)
		for _, x := range []result{c, o, s} {
			if x.First != "" {
				fmt.Fprintf(out, "  %s: first error: %s\n", x.Name, x.First)
			}
			if x.Exhausted {
				fmt.Fprintf(out, "  %s: used every prepared request before the time was up\n", x.Name)
			}
			if x.Shed > 0 {
				fmt.Fprintf(out, "  %s: %d refused at once (503, Retry-After)\n", x.Name, x.Shed)
			}
		}
	}
	fmt.Fprintf(out, "%-16s %8.0f %8.2f %8.2f\n", "1-query baseline", one.RPS, one.P50, one.P99)
	for _, name := range r.skipped {
		fmt.Fprintf(out, "%-16s skipped: the portal has no such page yet\n", name)
	}
	if len(r.overloads) > 0 {
		fmt.Fprintf(out, "\nat twice capacity, %s open loop, then one client for a second:\n", r.o.openFor)
		fmt.Fprintf(out, "%-16s %8s %9s %8s %8s %7s %8s %12s %11s\n", "page", "sent/s", "served/s", "p99 ms", "503s", "errors", "RSS MB", "after p99 ms", "after fails")
		for _, name := range r.overloads {
			x, after := r.results[name+" overload"], afterOf(r.results[name+" overload"])
			sent := float64(x.Requests+x.Shed+x.Errors) / max(r.o.openFor.Seconds(), 1)
			fmt.Fprintf(out, "%-16s %8.0f %9.0f %8.2f %8d %7d %8.1f %12.2f %11d\n", name, sent, x.RPS, x.P99, x.Shed, x.Errors,
				float64(r.rss[name+" overload"])/1024, after.P99, after.Errors+after.Shed)
			if x.First != "" {
				fmt.Fprintf(out, "  %s: first error: %s\n", x.Name, x.First)
			}
		}
	}
	fmt.Fprintf(out, "\nemail delivery to a local SMTP server (one clc worker): %.0f/s\n", r.mailRate)
	fmt.Fprintf(out, "clc serve ready after %s; peak RSS %.1f MB\n", r.ready.Round(time.Millisecond), float64(r.peakRSS)/1024)
	fmt.Fprintf(out, "sequential scans of smart_accounts and search_suffixes during the runs: %d\n", r.seqScans)
}

// goals says which of issue 20's goals this run met.
func (r report) goals(out io.Writer) {
	one := r.results["one-query baseline"]
	fmt.Fprintln(out, "goals (issue 20):")
	verdict := func(ok bool, format string, args ...any) {
		v := "met"
		if !ok {
			v = "NOT met"
		}
		fmt.Fprintf(out, "  %-7s %s\n", v, fmt.Sprintf(format, args...))
	}
	for _, name := range r.pages {
		c, s := r.results[name], r.results[name+" same"]
		switch {
		case s.RPS == 0:
		case name == "home":
			// Home's only work is the session and its frame, which every
			// page reads and no same-work baseline does (they run as a
			// fixed viewer): its same-work baseline reads nothing. Issue
			// 20 sets home's goal against the one-query baseline instead
			// (below); this ratio is shown, not judged.
			fmt.Fprintf(out, "  %-7s %s\n", "-", fmt.Sprintf("home against its same-work baseline, which reads no session: %.2fx (home's goal is the one-query baseline's)", c.RPS/s.RPS))
		default:
			verdict(c.RPS/s.RPS >= goalFramework, "%s at least %.1fx its same-work baseline: %.2fx", name, goalFramework, c.RPS/s.RPS)
		}
	}
	for _, g := range []struct {
		name, what string
		share      float64
	}{
		{"home", "home", goalHome},
		{"directory", "directory overview", goalDirectory},
		{"directory section", "a directory section's page", goalSection},
		{"search", "search", goalSearch},
		{"account", "account page", goalAccountPage},
		{"pending", "Pending Request page", goalPending},
	} {
		if x, ok := r.results[g.name]; ok && one.RPS > 0 {
			verdict(x.RPS/one.RPS >= g.share, "%s at least %.2fx the one-query baseline: %.2fx", g.what, g.share, x.RPS/one.RPS)
		}
	}
	s := r.results["search"]
	verdict(s.P99 < goalSearchP99, "search p99 under %.0f ms at %d clients: %.2f ms", goalSearchP99, r.o.clients, s.P99)
	for _, name := range r.pages {
		if o := r.results[name+" open"]; readPages[name] {
			verdict(o.P99 < goalOpenP99, "%s p99 under %.0f ms at %.0f/s: %.2f ms", name, goalOpenP99, r.o.rate, o.P99)
		}
	}
	sub := r.results["submit"]
	verdict(sub.RPS >= goalSubmitRate, "request submission at least %.0f/s: %.0f/s", goalSubmitRate, sub.RPS)
	verdict(r.mailRate >= goalMailRate, "email delivery at least %.0f/s: %.0f/s", goalMailRate, r.mailRate)
	for _, name := range r.overloads {
		x, after := r.results[name+" overload"], afterOf(r.results[name+" overload"])
		verdict(x.P99 < goalOverloadP99 && x.Errors == 0, "%s at twice capacity: admitted p99 under %.0f ms, no errors: %.2f ms, %d errors, %d refused",
			name, goalOverloadP99, x.P99, x.Errors, x.Shed)
		verdict(r.rss[name+" overload"] < goalRSS, "%s at twice capacity: RSS under %d MB: %.1f MB", name, goalRSS/1024, float64(r.rss[name+" overload"])/1024)
		verdict(after.Requests > 0 && after.Errors+after.Shed == 0 && after.P99 < goalOverloadP99,
			"%s: the second after the overload served every request, p99 under %.0f ms: %d served, %d failed, %.2f ms",
			name, goalOverloadP99, after.Requests, after.Errors+after.Shed, after.P99)
	}
	verdict(r.peakRSS < goalRSS, "RSS under %d MB at full load: %.1f MB", goalRSS/1024, float64(r.peakRSS)/1024)
	verdict(r.ready < goalReady, "ready in under %s: %s", goalReady, r.ready.Round(time.Millisecond))
	for _, name := range r.wrkOrder {
		ratio, ok := agree(r.results[name], r.wrk[name])
		verdict(ok, "%s: wrk and bench/load agree within %.0f%%: wrk/load %.2fx", name, goalAgreement*100, ratio)
	}
	if sc := r.scaling; sc != nil {
		for _, series := range sc.series {
			if ratio, from, to, ok := sc.growth(series); ok {
				verdict(ratio <= goalGrowth, "%s: time per request grows at most %.0fx from %s to %s accounts: %.2fx",
					series, goalGrowth, count(from), count(to), ratio)
			}
		}
	}
}

// afterOf is the second after an overload, or nothing measured.
func afterOf(x result) result {
	if x.After == nil {
		return result{}
	}
	return *x.After
}

// machine says what the figures were measured on, and how busy it was.
func machine() string {
	cpu := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.1f GB", float64(kb)/1024/1024)
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average " + strings.Join(strings.Fields(string(b))[:3], " ") + " at the end (other work shares it)"
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	return fmt.Sprintf("%s, %d cores%s, %s, %s%s", cpu, runtime.NumCPU(), mem, strings.TrimSpace(string(kernel)), runtime.Version(), load)
}

func gitCommit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
