package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestImageAnswersReadyz builds the image as `make image` does (a static
// binary into the Containerfile's scratch image, with buildah; nothing
// pulled), migrates a test database with it as its own step and serves
// until /readyz answers 200. Where this machine refuses to run containers,
// the test logs the refusal and runs the binary from the image's own
// unpacked root instead; where it cannot build one, the same static build.
func TestImageAnswersReadyz(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db := pgtest.New(t)
	dir := t.TempDir()
	static := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "clc"), ".")
	static.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := static.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	if out, _ := exec.Command("file", filepath.Join(dir, "clc")).CombinedOutput(); len(out) > 0 && !bytes.Contains(out, []byte("statically linked")) {
		t.Errorf("the binary is not static: %s", out)
	}
	if err := copyFile("/etc/ssl/certs/ca-certificates.crt", filepath.Join(dir, "ca-certificates.crt")); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	env := []string{"DATABASE_URL=" + db.URL, "SMTP_URL=smtp://127.0.0.1:1", fmt.Sprintf("CLC_ADDR=127.0.0.1:%d", port),
		fmt.Sprintf("CLC_BASE_URL=http://127.0.0.1:%d", port), "CLC_OPS_ADDR=127.0.0.1:0", "CLC_SHUTDOWN_DRAIN=0s"}

	binary := filepath.Join(dir, "clc") // the fallback of last resort
	how := "the static build"
	image := "localhost/clc-test:" + randomHex(t)
	if out, err := exec.CommandContext(ctx, "buildah", "build", "--quiet", "-f", "../../Containerfile", "-t", image, dir).CombinedOutput(); err != nil {
		t.Logf("this machine cannot build the image (%v): %s", err, bytes.TrimSpace(out))
	} else {
		t.Cleanup(func() { _ = exec.Command("buildah", "rmi", "-f", image).Run() })
		checkImage(t, image)
		// The migration is a step of its own, then serve.
		run := func(args ...string) *exec.Cmd {
			full := []string{"run", "--rm", "--network", "host"}
			for _, e := range env {
				full = append(full, "-e", e)
			}
			return exec.CommandContext(ctx, "podman", append(append(full, image), args...)...)
		}
		out, err := run("migrate").CombinedOutput()
		if err == nil {
			serve := run("serve")
			if err := serve.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = serve.Process.Signal(os.Interrupt); _ = serve.Wait() })
			waitReady(t, port, "podman run "+image)
			return
		}
		t.Logf("this machine refuses to run containers: podman run: %v: %s", err, bytes.TrimSpace(out))
		// The image's own root, unpacked by buildah: the binary that image runs.
		ctr, err := exec.CommandContext(ctx, "buildah", "from", image).Output()
		if err != nil {
			t.Fatalf("buildah from: %v", err)
		}
		name := strings.TrimSpace(string(ctr))
		t.Cleanup(func() { _ = exec.Command("buildah", "rm", name).Run() })
		root, err := exec.CommandContext(ctx, "buildah", "mount", name).Output()
		if err != nil {
			t.Fatalf("buildah mount: %v", err)
		}
		t.Cleanup(func() { _ = exec.Command("buildah", "umount", name).Run() })
		binary = filepath.Join(strings.TrimSpace(string(root)), "clc")
		how = "/clc from the image's unpacked root"
		for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox"} {
			if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(root)), shell)); err == nil {
				t.Errorf("the image has a shell: /%s", shell)
			}
		}
	}
	migrate := exec.CommandContext(ctx, binary, "migrate")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("%s migrate: %v\n%s", how, err, out)
	}
	serve := exec.CommandContext(ctx, binary, "serve")
	serve.Env = env
	var logs bytes.Buffer
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = serve.Process.Signal(os.Interrupt)
		_ = serve.Wait()
	})
	waitReady(t, port, how)
}

// checkImage holds the built image to the Containerfile's promises.
func checkImage(t *testing.T, image string) {
	t.Helper()
	out, err := exec.Command("buildah", "inspect", "--type", "image", image).Output()
	if err != nil {
		t.Fatalf("buildah inspect: %v", err)
	}
	var info struct {
		OCIv1 struct {
			Config struct {
				User       string
				Entrypoint []string
				Cmd        []string
			} `json:"config"`
		}
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	c := info.OCIv1.Config
	if c.User == "" || strings.HasPrefix(c.User, "0") || strings.HasPrefix(c.User, "root") {
		t.Errorf("the image runs as %q", c.User)
	}
	if strings.Join(c.Entrypoint, " ") != "/clc" || strings.Join(c.Cmd, " ") != "serve" {
		t.Errorf("entrypoint %v, cmd %v", c.Entrypoint, c.Cmd)
	}
}

func waitReady(t *testing.T, port int, how string) {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("%s answers /readyz: %d %s", how, resp.StatusCode, bytes.TrimSpace(body))
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered /readyz with 200 (last: %v)", how, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func copyFile(from, to string) error {
	raw, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, raw, 0o644)
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
