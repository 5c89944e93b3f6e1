package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/scale"
)

// seedScale loads a large synthetic directory, for benchmarks.
func (c *cli) seedScale(ctx context.Context, args []string) error {
	fs := c.flags("seed scale")
	accounts := fs.Int("accounts", 100000, "how many Smart Accounts to add")
	partnerList := fs.String("partners", strconv.Itoa(scale.DefaultPartner),
		"heavy partners to add, comma-separated, each as how many accounts they hold a role on (those over --accounts are left out)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *accounts < 1 {
		return fmt.Errorf("seed scale: --accounts must be at least 1")
	}
	var partners []int
	for f := range strings.SplitSeq(*partnerList, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 {
			return fmt.Errorf("seed scale: --partners wants whole numbers of at least 1, comma-separated, not %q", f)
		}
		partners = append(partners, k)
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
		Partners:     partners,
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
	for _, p := range sum.Partners {
		fmt.Fprintf(c.stdout, "sign in as %s with password %q (roles on %d accounts); every user has that password\n",
			p.Email, scale.Password, p.Accounts)
	}
	return nil
}
