// Command clc is CLC Portal: the web server, the mail worker, and the admin
// commands operators and black-box tests use.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	// The time zones built in: the container image has no zoneinfo. An
	// import rather than the timetzdata build tag, so the image's build
	// and the tests' share every compiled package.
	_ "time/tzdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "clc:", err)
		os.Exit(1)
	}
}

const usage = `usage: clc <command> [flags]

  serve                     serve the portal (and deliver mail, expire and remind) on CLC_ADDR
  worker                    deliver queued email, expire requests, remind approvers; no pages
  migrate                   apply pending database migrations
  user add --email E --name N [--staff] --password-stdin
  account add --name N --domain D [--type customer|partner_holding|limited_use] [--restricted] [--admin EMAIL]...
  grant --email E --account ID [--va NAME] --role admin|user|viewer|approver
  seed demo                 load the demo data (idempotent)
  seed scale --accounts N   add N synthetic Smart Accounts with users and roles, for benchmarks
  mailcatcher               a local SMTP server with a page to read what it caught

Environment: DATABASE_URL, SMTP_URL, CLC_ADDR, CLC_BASE_URL, CLC_MAIL_FROM,
CLC_MAIL_LEASE, CLC_LOCK_DATABASE_URL (behind a pooler), CLC_SHUTDOWN_DRAIN,
CLC_TRUSTED_PROXIES, CLC_DEVICE_KEY, CLC_USER_EMAILS_PER_DAY, CLC_REMINDER_DAYS, CLC_OPS_ADDR
(profiles; off unless set), CLC_MAX_IN_FLIGHT, CLC_ADMISSION_WAIT, CLC_WEBHOOK_ALLOW_PRIVATE,
CLC_WEBHOOK_RETRY_BASE.`

// run is the whole program; main only supplies the process's environment so
// tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("no command given")
	}
	env := &cli{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmd, rest := args[0], args[1:]
	sub := func() string {
		if len(rest) == 0 {
			return ""
		}
		return rest[0]
	}
	switch {
	case cmd == "serve":
		return env.serve(ctx, rest)
	case cmd == "worker":
		return env.worker(ctx, rest)
	case cmd == "migrate":
		return env.migrate(ctx, rest)
	case cmd == "user" && sub() == "add":
		return env.userAdd(ctx, rest[1:])
	case cmd == "account" && sub() == "add":
		return env.accountAdd(ctx, rest[1:])
	case cmd == "grant":
		return env.grant(ctx, rest)
	case cmd == "seed" && sub() == "demo":
		return env.seedDemo(ctx, rest[1:])
	case cmd == "seed" && sub() == "scale":
		return env.seedScale(ctx, rest[1:])
	case cmd == "mailcatcher":
		return env.mailcatcher(ctx, rest)
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", args)
}
