package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CPU per request. Two identical closed-loop runs on a shared two-core
// machine differ by up to 30% in requests a second, more than most changes
// worth measuring; the CPU a request costs moves far less, because it does
// not count the time the cores gave to others. So each closed loop also
// reads, from /proc, the CPU time the server that answered and every process
// of the benchmark's PostgreSQL used meanwhile, and divides it by the
// requests served.

// clockTicks is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on
// every Linux the project runs on).
const clockTicks = 100

// procCPU is the user and system time process pid used so far, in ticks,
// and its parent; ok is false once it is gone.
func procCPU(pid int) (ticks int64, parent int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The name, in parentheses, may hold spaces: the fields start after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, 0, false
	}
	parent, _ = strconv.Atoi(f[1])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime, parent, true
}

// cpuSample is the CPU time so far, in ticks, of the server (one process)
// and of the PostgreSQL cluster (its postmaster and every process it
// started), by pid.
type cpuSample struct{ server, postgres map[int]int64 }

func sampleCPU(server, postmaster int) cpuSample {
	c := cpuSample{server: map[int]int64{}, postgres: map[int]int64{}}
	if t, _, ok := procCPU(server); ok {
		c.server[server] = t
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if t, parent, ok := procCPU(pid); ok && (pid == postmaster || parent == postmaster) {
			c.postgres[pid] = t
		}
	}
	return c
}

// since is the CPU time used between earlier and c: a process started in
// between counts whole; one that ended in between is lost (the pool keeps
// its connections, so hardly any).
func (c cpuSample) since(earlier cpuSample) (server, postgres time.Duration) {
	used := func(now, before map[int]int64) time.Duration {
		var ticks int64
		for pid, t := range now {
			ticks += t - before[pid]
		}
		return time.Duration(ticks) * time.Second / clockTicks
	}
	return used(c.server, earlier.server), used(c.postgres, earlier.postgres)
}

// postmasterPID reads the pid of the cluster in dir (scripts/pg.sh's
// layout: dir/data is PGDATA).
func postmasterPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// cpuPerRequest is a closed loop's CPU per request in ms, the server's and
// PostgreSQL's, from what they used over the whole run (its warm-up too)
// and the rate it served after the warm-up.
func cpuPerRequest(server, postgres, elapsed time.Duration, rps float64) (float64, float64) {
	n := rps * elapsed.Seconds()
	if n <= 0 {
		return 0, 0
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / n }
	return ms(server), ms(postgres)
}

// cpuTable prints each page's CPU per request beside its same-work
// baseline's and the one-query baseline's, and the ratios of the totals:
// the same comparisons as the main table's, by CPU rather than by rate.
func (r report) cpuTable(out io.Writer) {
	one := r.results["one-query baseline"]
	if one.CPUServer+one.CPUPostgres == 0 {
		return
	}
	fmt.Fprintf(out, "\nCPU per request, closed loop (ms of one core, from /proc: the server that answered, and every PostgreSQL process):\n")
	fmt.Fprintf(out, "%-17s %8s %9s %8s %11s %9s %11s\n", "page", "server", "postgres", "total", "same total", "same/page", "1-query/page")
	total := func(x result) float64 { return x.CPUServer + x.CPUPostgres }
	for _, name := range r.pages {
		c, s := r.results[name], r.results[name+" same"]
		if total(c) == 0 {
			continue
		}
		sameTotal, vsSame := "-", "-"
		if total(s) > 0 {
			sameTotal, vsSame = fmt.Sprintf("%.3f", total(s)), fmt.Sprintf("%.2fx", total(s)/total(c))
		}
		fmt.Fprintf(out, "%-17s %8.3f %9.3f %8.3f %11s %9s %11.2fx\n", name, c.CPUServer, c.CPUPostgres, total(c),
			sameTotal, vsSame, total(one)/total(c))
	}
	fmt.Fprintf(out, "%-17s %8.3f %9.3f %8.3f\n", "1-query baseline", one.CPUServer, one.CPUPostgres, total(one))
}
