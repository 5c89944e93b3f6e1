package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// The second opinion and bench/load should agree this closely.
const goalAgreement = 0.2

// wrkResult is what Debian's wrk measured of a page.
type wrkResult struct {
	// RPS counts the answers 2xx or 3xx a second, as bench/load counts
	// only what it wanted (wrk's own Requests/sec counts a 503 too).
	RPS      float64
	P50, P99 float64 // ms, of every answer
	Requests int
	Seconds  float64
	// Bad are the answers neither 2xx nor 3xx, and socket errors.
	Bad int
}

// secondOpinion drives t with wrk, as bench/load's closed loop did (as
// many connections as clients, for as long, with the same cookie), right
// after it, so the two figures can be set side by side. Each connection
// goes through the URLs in turn from a place of its own.
func (m *measurer) secondOpinion(ctx context.Context, name string, t target) error {
	if !m.o.wrk {
		return nil
	}
	u, err := url.Parse(t.urls[0])
	if err != nil {
		return err
	}
	var script bytes.Buffer
	script.WriteString("local paths = {\n")
	for _, s := range t.urls {
		p, err := url.Parse(s)
		if err != nil {
			return err
		}
		fmt.Fprintf(&script, "  %s,\n", strconv.Quote(p.RequestURI()))
	}
	script.WriteString(`}
local n = 0
function init(args)
  n = math.random(#paths)
end
function request()
  n = n % #paths + 1
  return wrk.format(nil, paths[n])
end
`)
	path := filepath.Join(work, strings.ReplaceAll(name, " ", "-")+".lua")
	if err := os.WriteFile(path, script.Bytes(), 0o644); err != nil {
		return err
	}
	step(m.out, "second opinion on %s: wrk, %d connections, %s", name, m.o.clients, m.o.duration)
	args := []string{"-t", "2", "-c", strconv.Itoa(m.o.clients), "-d", fmt.Sprintf("%ds", max(1, int(m.o.duration.Seconds()))),
		"--latency", "--timeout", "10s", "-s", path}
	if t.cookie != "" {
		args = append(args, "-H", "Cookie: "+t.cookie)
	}
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, "wrk", append(args, u.Scheme+"://"+u.Host)...)
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("wrk %s: %w", name, err)
	}
	r, err := parseWrk(&stdout)
	if err != nil {
		return fmt.Errorf("wrk %s: %w", name, err)
	}
	if m.wrk == nil {
		m.wrk = map[string]wrkResult{}
	}
	m.wrk[name] = r
	m.wrkOrder = append(m.wrkOrder, name)
	return nil
}

// parseWrk reads wrk's report (with --latency).
func parseWrk(r io.Reader) (wrkResult, error) {
	var w wrkResult
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "50%":
			w.P50 = wrkMillis(f[1])
		case len(f) == 2 && f[0] == "99%":
			w.P99 = wrkMillis(f[1])
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			// 18600 requests in 3.00s, 50.00MB read
			w.Requests, _ = strconv.Atoi(f[0])
			w.Seconds = wrkMillis(strings.TrimSuffix(f[3], ",")) / 1000
		case len(f) == 5 && f[0] == "Non-2xx":
			n, _ := strconv.Atoi(f[4])
			w.Bad += n
		case len(f) > 2 && f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 3; i < len(f); i += 2 {
				n, _ := strconv.Atoi(strings.TrimSuffix(f[i], ","))
				w.Bad += n
			}
		}
	}
	if err := sc.Err(); err != nil {
		return w, err
	}
	if w.Seconds == 0 {
		return w, fmt.Errorf("no \"requests in\" line in its report")
	}
	w.RPS = float64(max(0, w.Requests-w.Bad)) / w.Seconds
	return w, nil
}

// wrkMillis reads a wrk duration (512.00us, 3.20ms, 1.01s) in ms.
func wrkMillis(s string) float64 {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 0.001}, {"ms", 1}, {"m", 60000}, {"s", 1000}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0
			}
			return f * u.ms
		}
	}
	return 0
}

// agree says whether wrk's requests a second are within goalAgreement of
// bench/load's, and their ratio.
func agree(load result, w wrkResult) (ratio float64, ok bool) {
	if load.RPS == 0 {
		return 0, false
	}
	ratio = w.RPS / load.RPS
	return ratio, ratio >= 1-goalAgreement && ratio <= 1+goalAgreement
}

// secondOpinions prints bench/load's figures beside wrk's.
func (r report) secondOpinions(out io.Writer) {
	if len(r.wrkOrder) == 0 {
		return
	}
	fmt.Fprintf(out, "\nsecond opinion: Debian's wrk on the same URLs with the same cookie, %d connections, right after bench/load's closed loop:\n", r.o.clients)
	fmt.Fprintf(out, "(req/s counts the answers the page wanted; wrk's p99 is of every answer, 503s among them)\n")
	fmt.Fprintf(out, "%-20s %10s %10s %8s %12s %12s %8s\n", "page", "load req/s", "wrk req/s", "wrk/load", "load p99 ms", "wrk p99 ms", "wrk bad")
	for _, name := range r.wrkOrder {
		l, w := r.results[name], r.wrk[name]
		ratio, ok := agree(l, w)
		note := ""
		if !ok {
			note = fmt.Sprintf("  apart by more than %.0f%%", goalAgreement*100)
		}
		fmt.Fprintf(out, "%-20s %10.0f %10.0f %7.2fx %12.2f %12.2f %8d%s\n", name, l.RPS, w.RPS, ratio, l.P99, w.P99, w.Bad, note)
	}
}
