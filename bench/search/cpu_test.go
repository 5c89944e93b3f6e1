package main

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// The CPU a process used is read from /proc and grows as it works; its
// children are counted with it, and a rate turns it into CPU per request.
func TestCPUPerRequestReadsWhatTheProcessesUsed(t *testing.T) {
	ticks, parent, ok := procCPU(os.Getpid())
	if !ok || parent != os.Getppid() || ticks < 0 {
		t.Fatalf("this process: %d ticks, parent %d (want %d), ok %v", ticks, parent, os.Getppid(), ok)
	}
	// A child that spins (this test binary again, see TestSpinHelper), as
	// a PostgreSQL backend works under its postmaster, here this process.
	// It is read until it has used 100 ms, however busy the machine.
	child := exec.Command(os.Args[0], "-test.run=^TestSpinHelper$")
	child.Env = append(os.Environ(), "CLC_BENCH_SPIN=20s")
	before := sampleCPU(os.Getpid(), os.Getpid())
	began := time.Now()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	var server, postgres time.Duration
	for postgres < 100*time.Millisecond {
		if time.Since(began) > 15*time.Second {
			t.Fatalf("the spinning child was read as using %v in %v", postgres, time.Since(began))
		}
		time.Sleep(20 * time.Millisecond)
		server, postgres = sampleCPU(os.Getpid(), os.Getpid()).since(before)
	}
	if limit := time.Duration(runtime.NumCPU())*time.Since(began) + 20*time.Millisecond; postgres > limit || server < 0 {
		t.Errorf("in %v, the child used %v and this process %v", time.Since(began), postgres, server)
	}
	if s, p := cpuPerRequest(200*time.Millisecond, 600*time.Millisecond, 2*time.Second, 100); s != 1 || p != 3 {
		t.Errorf("200 ms and 600 ms over 2 s at 100 requests/s: %v and %v ms a request, want 1 and 3", s, p)
	}
	if _, err := postmasterPID(t.TempDir()); err == nil {
		t.Error("a directory without a cluster gave a postmaster")
	}
}

// TestSpinHelper is the busy child of the test above; on its own it does
// nothing.
func TestSpinHelper(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("CLC_BENCH_SPIN"))
	if err != nil {
		return
	}
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}
