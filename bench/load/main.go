// Command load drives HTTP load from its own process, for a fixed time:
// either closed-loop, a fixed number of clients each sending its next
// request as soon as the last one answered, or open-loop (-rate), requests
// sent at a fixed rate whether or not earlier ones have answered, each timed
// from when it was due, so a server that falls behind shows it in the
// latency. It prints one JSON line: throughput and latency.
//
// Each line of the -urls file is a URL to GET, or "POST url body" to post
// the url-encoded form body, as a browser would (with Origin); a GET must
// answer 200 and a POST 303. With -once each line is sent at most once (an
// approval link is spent by its first use), and the run ends early when
// they are all sent.
//
// A 503 with Retry-After is a refusal the server chose (it sheds what it
// cannot serve in time): counted apart (shed), neither a latency nor an
// error. With -after, an open loop is followed, from the moment it stops
// sending, by one client for that long: how the server answers once the
// load is gone.
//
//	load -urls urls.txt -cookie clc_session=… -clients 32 -duration 15s
//	load -urls urls.txt -rate 500 -duration 10s
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Result is what a run measured; durations are in milliseconds.
type Result struct {
	Name     string  `json:"name"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	Mean     float64 `json:"mean_ms"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	// FirstError describes the first failed request, to tell why.
	FirstError string `json:"first_error,omitempty"`
	// Exhausted is set when -once ran out of lines before the time was up.
	Exhausted bool `json:"exhausted,omitempty"`
	// Shed counts the answers 503 with Retry-After.
	Shed int `json:"shed"`
	// After is the -after run, once the open loop stopped sending.
	After *Result `json:"after,omitempty"`
}

// errShed is a 503 with Retry-After: the server refused at admission.
var errShed = errors.New("shed: 503 with Retry-After")

// request is one line of the -urls file.
type request struct {
	method, url, body string
}

type loader struct {
	client  *fasthttp.Client
	timeout time.Duration
	reqs    []request
	cookie  string
	once    bool
	next    atomic.Int64 // the next line, counted across runs with -once
}

// pick gives the next request, or false once every line was sent with -once.
func (l *loader) pick(i int) (request, bool) {
	if !l.once {
		return l.reqs[i%len(l.reqs)], true
	}
	n := l.next.Add(1) - 1
	if n >= int64(len(l.reqs)) {
		return request{}, false
	}
	return l.reqs[n], true
}

type tally struct {
	latencies []time.Duration
	errors    int
	shed      int
	first     string
}

func (t *tally) add(err error, took time.Duration) {
	if errors.Is(err, errShed) {
		t.shed++
		return
	}
	if err != nil {
		if t.errors == 0 {
			t.first = err.Error()
		}
		t.errors++
		return
	}
	t.latencies = append(t.latencies, took)
}

// open sends rate requests a second for d, each on its own, and times each
// from when it was due; with after > 0, one client then runs closed-loop
// for after, from the moment the last request was sent.
func (l *loader) open(rate float64, d, after time.Duration) Result {
	interval := time.Duration(float64(time.Second) / rate)
	var mu sync.Mutex
	var all tally
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if !due.Before(start.Add(d)) {
			break
		}
		time.Sleep(time.Until(due))
		req, ok := l.pick(i)
		if !ok {
			break
		}
		wg.Go(func() {
			// Requests still out when the time is up are waited for: a slow
			// answer is a result here, not something to cut off.
			err := l.do(context.Background(), req)
			took := time.Since(due)
			mu.Lock()
			all.add(err, took)
			mu.Unlock()
		})
	}
	if after == 0 {
		wg.Wait()
		return summarise([]tally{all}, time.Since(start))
	}
	// The loop's rate is over its own time, not the second after.
	sending := time.Since(start)
	afterwards := l.closed(1, after)
	wg.Wait()
	res := summarise([]tally{all}, sending)
	res.After = &afterwards
	return res
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	name := fs.String("name", "load", "what is measured, echoed in the result")
	urlsFile := fs.String("urls", "", "file of URLs, one a line, requested in turn (required)")
	cookie := fs.String("cookie", "", "a Cookie header to send, e.g. clc_session=…")
	clients := fs.Int("clients", 32, "concurrent clients")
	duration := fs.Duration("duration", 15*time.Second, "how long to measure")
	warmup := fs.Duration("warmup", 3*time.Second, "load before measuring, not counted")
	timeout := fs.Duration("timeout", 10*time.Second, "give up on one request after this long")
	rate := fs.Float64("rate", 0, "open loop: requests per second, whatever the answers (0: closed loop)")
	once := fs.Bool("once", false, "send each line at most once")
	after := fs.Duration("after", 0, "open loop: then one client for this long, from when the loop stops sending")
	if err := fs.Parse(args); err != nil {
		return err
	}
	urls, err := readRequests(*urlsFile)
	if err != nil {
		return err
	}
	if *clients < 1 || *clients > 1024 || *duration <= 0 || *duration > time.Hour || *rate < 0 || *rate > 100000 {
		return errors.New("want 1 to 1024 clients, a duration up to an hour and a rate up to 100000/s")
	}
	// fasthttp's client, not net/http's: the load generator shares the
	// machine's two cores with the server it measures, and net/http's client
	// took 0.047 ms of CPU a request, about a quarter of what the one-query
	// baseline cost the server and PostgreSQL together (0.19-0.21 ms,
	// measured beside it), so short pages measured slower than Debian's wrk
	// measured them (1.26x apart). fasthttp's takes 0.026-0.028 ms. Every
	// connection a client needs is opened: an open
	// loop beyond the server's capacity has many requests out at once.
	client := &fasthttp.Client{
		MaxConnsPerHost:               1 << 16,
		MaxIdleConnDuration:           time.Minute,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
	}
	l := &loader{client: client, timeout: *timeout, reqs: urls, cookie: *cookie, once: *once}
	run := func(d, after time.Duration) Result {
		if *rate > 0 {
			return l.open(*rate, d, after)
		}
		return l.closed(*clients, d)
	}
	if *warmup > 0 {
		run(*warmup, 0)
	}
	res := run(*duration, *after)
	res.Name = *name
	res.Exhausted = *once && l.next.Load() >= int64(len(urls))
	return json.NewEncoder(stdout).Encode(res)
}

// closed runs clients closed loops for d and summarises them.
func (l *loader) closed(clients int, d time.Duration) Result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	tallies := make([]tally, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			t := &tallies[c]
			// Each client starts at its own place in the list, so the
			// clients do not ask the same thing at the same moment.
			for i := c * len(l.reqs) / clients; ctx.Err() == nil; i++ {
				req, ok := l.pick(i)
				if !ok {
					return
				}
				began := time.Now()
				err := l.do(ctx, req)
				if ctx.Err() != nil {
					return // cut off by the end of the run: not a result
				}
				t.add(err, time.Since(began))
			}
		})
	}
	wg.Wait()
	return summarise(tallies, time.Since(start))
}

func summarise(tallies []tally, elapsed time.Duration) Result {
	var all []time.Duration
	var res Result
	for _, t := range tallies {
		all = append(all, t.latencies...)
		res.Errors += t.errors
		res.Shed += t.shed
		if res.FirstError == "" {
			res.FirstError = t.first
		}
	}
	slices.Sort(all)
	res.Requests = len(all)
	res.Seconds = elapsed.Seconds()
	res.RPS = float64(len(all)) / elapsed.Seconds()
	res.P50, res.P90, res.P99 = ms(quantile(all, 0.50)), ms(quantile(all, 0.90)), ms(quantile(all, 0.99))
	if len(all) > 0 {
		res.Max = ms(all[len(all)-1])
		var sum time.Duration
		for _, d := range all {
			sum += d
		}
		res.Mean = ms(sum / time.Duration(len(all)))
	}
	return res
}

// do sends one request and checks its answer. A redirect is an answer to
// measure (a lost session shows as one), not something to follow: fasthttp
// follows none unless asked. ctx only says whether the run is over: a
// request already sent is waited for, up to the timeout, and the closed loop
// drops its result.
func (l *loader) do(ctx context.Context, r request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(r.url)
	req.Header.SetMethod(r.method)
	want := http.StatusOK
	if r.method == http.MethodPost {
		want = http.StatusSeeOther
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.Header.Set("Origin", string(req.URI().Scheme())+"://"+string(req.URI().Host()))
		req.SetBodyString(r.body)
	}
	if l.cookie != "" {
		req.Header.Set("Cookie", l.cookie)
	}
	if err := l.client.DoTimeout(req, resp, l.timeout); err != nil {
		return fmt.Errorf("%s %s: %w", r.method, r.url, err)
	}
	status := resp.StatusCode()
	if status == http.StatusServiceUnavailable && len(resp.Header.Peek("Retry-After")) > 0 {
		return errShed
	}
	if status != want {
		return fmt.Errorf("%s %s: status %d", r.method, r.url, status)
	}
	return nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func readRequests(path string) ([]request, error) {
	if path == "" {
		return nil, errors.New("-urls is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if method, rest, ok := strings.Cut(line, " "); ok && method == http.MethodPost {
			u, body, _ := strings.Cut(rest, " ")
			out = append(out, request{method: method, url: u, body: body})
		} else if line != "" {
			out = append(out, request{method: http.MethodGet, url: line})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no URL", path)
	}
	return out, nil
}
