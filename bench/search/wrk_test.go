package main

import (
	"strings"
	"testing"
)

// TestParseWrk reads a report as Debian's wrk 4.1 writes it with
// --latency: what it counts a second is only the answers the page wanted,
// as bench/load counts them.
func TestParseWrk(t *testing.T) {
	report := `Running 2s test @ http://127.0.0.1:39039
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    57.61ms   95.10ms 574.65ms   88.64%
    Req/Sec   279.41    101.21   530.00     68.42%
  Latency Distribution
     50%  850.00us
     75%   60.13ms
     90%  172.38ms
     99%     1.02s
  1120 requests in 2.00s, 12.41MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 97
Requests/sec:    559.43
Transfer/sec:      6.20MB
`
	w, err := parseWrk(strings.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	if w.Requests != 1120 || w.Seconds != 2 || w.Bad != 100 || w.P50 != 0.85 || w.P99 != 1020 || w.RPS != 510 {
		t.Errorf("read %+v", w)
	}
	if _, err := parseWrk(strings.NewReader("unable to connect to 127.0.0.1:1 Connection refused\n")); err == nil {
		t.Error("a report with no requests was read")
	}
	if ratio, ok := agree(result{RPS: 500}, wrkResult{RPS: 590}); !ok || ratio != 1.18 {
		t.Errorf("590 against 500: %v, %v", ratio, ok)
	}
	if _, ok := agree(result{RPS: 500}, wrkResult{RPS: 610}); ok {
		t.Error("610 against 500 agree")
	}
}

// TestParseSizes refuses what the growth could not step through.
func TestParseSizes(t *testing.T) {
	if got, err := parseSizes("sizes", "1000, 5000,10000"); err != nil || len(got) != 3 || got[2] != 10000 {
		t.Errorf("1000, 5000,10000: %v, %v", got, err)
	}
	if got, err := parseSizes("sizes", ""); err != nil || got != nil {
		t.Errorf("nothing: %v, %v", got, err)
	}
	for _, bad := range []string{"5000,1000", "1000,1000", "0", "1k", "10,,20"} {
		if _, err := parseSizes("sizes", bad); err == nil {
			t.Errorf("%q was taken", bad)
		}
	}
}
