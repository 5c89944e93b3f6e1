package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/config"
	"github.com/clc-portal/clc/internal/demo"
	"github.com/clc-portal/clc/internal/postgres"
)

// cli is the process's environment for the subcommands.
type cli struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (c *cli) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// flags makes a FlagSet that reports errors instead of exiting.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// openDB connects and checks the schema is current.
func (c *cli) openDB(ctx context.Context) (*pgxpool.Pool, error) {
	cfg, err := config.Load(c.getenv, config.Need{})
	if err != nil {
		return nil, err
	}
	pool, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := postgres.CheckSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// service opens the database and wires the domain over it.
func (c *cli) service(ctx context.Context) (*account.Service, func(), error) {
	pool, err := c.openDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	return account.NewService(postgres.NewStore(pool), account.SystemClock{}, account.NewArgon2id()), pool.Close, nil
}

func (c *cli) migrate(ctx context.Context, args []string) error {
	if err := parse(c.flags("migrate"), args); err != nil {
		return err
	}
	cfg, err := config.Load(c.getenv, config.Need{})
	if err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	from, to, err := postgres.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if from == to {
		fmt.Fprintf(c.stdout, "database schema is current (version %d)\n", to)
	} else {
		fmt.Fprintf(c.stdout, "migrated database schema from version %d to %d\n", from, to)
	}
	return nil
}

func (c *cli) userAdd(ctx context.Context, args []string) error {
	fs := c.flags("user add")
	email := fs.String("email", "", "the user's email address (required)")
	name := fs.String("name", "", "the user's name (required)")
	staff := fs.Bool("staff", false, "an operator (Cisco approver) who sees every pending request")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !*fromStdin {
		return fmt.Errorf("user add: --password-stdin is required (passwords never go on the command line)")
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("user add: read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	svc, done, err := c.service(ctx)
	if err != nil {
		return err
	}
	defer done()
	u, err := svc.AddUser(ctx, account.NewUser{Email: *email, Name: *name, Password: password, Staff: *staff})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, u.ID)
	return nil
}

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func (c *cli) accountAdd(ctx context.Context, args []string) error {
	fs := c.flags("account add")
	name := fs.String("name", "", "the Smart Account's name (required)")
	domain := fs.String("domain", "", "its Account Domain Identifier (required)")
	typ := fs.String("type", "customer", "customer, partner_holding or limited_use")
	restricted := fs.Bool("restricted", false, "found by search only by its entire name or domain")
	var admins repeated
	fs.Var(&admins, "admin", "an administrator's email (an existing user); repeat for several")
	if err := parse(fs, args); err != nil {
		return err
	}
	t, err := account.ParseType(*typ)
	if err != nil {
		return err
	}
	svc, done, err := c.service(ctx)
	if err != nil {
		return err
	}
	defer done()
	a, err := svc.AddAccount(ctx, account.NewAccount{Name: *name, Domain: *domain, Type: t, Restricted: *restricted, AdminEmails: admins}, "clc account add")
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, a.ID)
	return nil
}

func (c *cli) grant(ctx context.Context, args []string) error {
	fs := c.flags("grant")
	email := fs.String("email", "", "the user's email (required)")
	id := fs.String("account", "", "the Smart Account's id, e.g. SA-000001 (required)")
	va := fs.String("va", "", "a Virtual Account's name; omit for the Smart Account itself")
	roleName := fs.String("role", "", "admin, user, viewer or approver (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	accountID, err := account.ParseAccountID(*id)
	if err != nil {
		return err
	}
	role, err := account.ParseRole(*roleName)
	if err != nil {
		return err
	}
	svc, done, err := c.service(ctx)
	if err != nil {
		return err
	}
	defer done()
	return svc.GrantRole(ctx, *email, accountID, *va, role, "clc grant")
}

func (c *cli) seedDemo(ctx context.Context, args []string) error {
	if err := parse(c.flags("seed demo"), args); err != nil {
		return err
	}
	svc, done, err := c.service(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := demo.Seed(ctx, svc); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "demo data loaded: partner %s, operator %s, no-role %s (password %q)\n",
		demo.PartnerEmail, demo.OperatorEmail, demo.NoRoleEmail, demo.Password)
	return nil
}
