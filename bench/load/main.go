// Command load drives HTTP load from its own process: a fixed number of
// clients, each sending its next request as soon as the last one answered,
// for a fixed time. It prints one JSON line: throughput and latency.
//
//	load -urls urls.txt -cookie clc_session=… -clients 32 -duration 15s
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
	"time"
)

// Result is what a run measured; durations are in milliseconds.
type Result struct {
	Name     string  `json:"name"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	// FirstError describes the first failed request, to tell why.
	FirstError string `json:"first_error,omitempty"`
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	urls, err := readLines(*urlsFile)
	if err != nil {
		return err
	}
	if *clients < 1 || *clients > 1024 || *duration <= 0 || *duration > time.Hour {
		return errors.New("want 1 to 1024 clients and a duration up to an hour")
	}
	client := &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			MaxIdleConns:        *clients,
			MaxIdleConnsPerHost: *clients,
			IdleConnTimeout:     time.Minute,
		},
		// A redirect is an answer to measure (a lost session shows as one),
		// not something to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if *warmup > 0 {
		drive(client, urls, *cookie, *clients, *warmup)
	}
	res := drive(client, urls, *cookie, *clients, *duration)
	res.Name = *name
	return json.NewEncoder(stdout).Encode(res)
}

// drive runs clients closed loops for d and summarises them.
func drive(client *http.Client, urls []string, cookie string, clients int, d time.Duration) Result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	type tally struct {
		latencies []time.Duration
		errors    int
		first     string
	}
	tallies := make([]tally, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			t := &tallies[c]
			// Each client starts at its own place in the list, so the
			// clients do not ask the same thing at the same moment.
			for i := c * len(urls) / clients; ctx.Err() == nil; i++ {
				began := time.Now()
				err := get(ctx, client, urls[i%len(urls)], cookie)
				if ctx.Err() != nil {
					return // cut off by the end of the run: not a result
				}
				if err != nil {
					if t.errors == 0 {
						t.first = err.Error()
					}
					t.errors++
					continue
				}
				t.latencies = append(t.latencies, time.Since(began))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	var res Result
	for _, t := range tallies {
		all = append(all, t.latencies...)
		res.Errors += t.errors
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
	}
	return res
}

func get(ctx context.Context, client *http.Client, url, cookie string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
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

func readLines(path string) ([]string, error) {
	if path == "" {
		return nil, errors.New("-urls is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			out = append(out, line)
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
