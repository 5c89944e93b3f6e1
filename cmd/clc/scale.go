package main

import (
	"context"
	"fmt"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/scale"
)

// seedScale loads a large synthetic directory, for benchmarks.
func (c *cli) seedScale(ctx context.Context, args []string) error {
	fs := c.flags("seed scale")
	accounts := fs.Int("accounts", 100000, "how many Smart Accounts to add")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *accounts < 1 {
		return fmt.Errorf("seed scale: --accounts must be at least 1")
	}
	pool, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	hash, err := account.NewArgon2id().Hash(scale.Password)
	if err != nil {
		return fmt.Errorf("seed scale: hash password: %w", err)
	}
	start := time.Now()
	sum, err := scale.Load(ctx, pool, scale.Options{
		Accounts:     *accounts,
		PasswordHash: hash,
		Progress: func(step string, rows int64, took time.Duration) {
			fmt.Fprintf(c.stderr, "  %-22s %9d rows  %s\n", step, rows, took.Round(time.Millisecond))
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "loaded %d Smart Accounts, %d Virtual Accounts, %d users, %d roles, %d access requests in %s\n",
		sum.Accounts, sum.VirtualAccounts, sum.Users, sum.Memberships, sum.AccessRequests, time.Since(start).Round(time.Second))
	fmt.Fprintf(c.stdout, "sign in as %s with password %q (roles on %d accounts); every user has that password\n",
		sum.Partner, scale.Password, sum.PartnerAccounts)
	return nil
}
