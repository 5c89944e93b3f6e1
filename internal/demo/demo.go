// Package demo loads the demo directory that `make run` shows: a partner with
// its own Smart Account, a few customers' accounts and a restricted one, and
// access requests waiting for their administrators. Seeding twice changes
// nothing.
package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/clc-portal/clc/internal/account"
)

// Password is every demo user's password; printed by `make run`.
const Password = "demo-password"

// Sign-ins printed by `make run`.
const (
	PartnerEmail  = "ada@northwind-partners.example"
	OperatorEmail = "ops@clc.example"
	NoRoleEmail   = "newcomer@northwind-partners.example"
)

type user struct {
	email, name string
	staff       bool
}

var users = []user{
	{PartnerEmail, "Ada Lovelace", false},
	{"grace@northwind-partners.example", "Grace Hopper", false},
	{NoRoleEmail, "Nils Newcomer", false},
	{"hank@globex.example", "Hank Scorpio", false},
	{"peter@initech.example", "Peter Gibbons", false},
	{"alice@umbrella.example", "Alice Abernathy", false},
	{OperatorEmail, "Olga Operator", true},
}

type smartAccount struct {
	name, domain string
	typ          account.Type
	restricted   bool
	admins       []string
	vas          []string
	grants       []grant
}

type grant struct {
	email, va string
	role      account.Role
}

var accounts = []smartAccount{
	{name: "Northwind Partners", domain: "northwind-partners.example", typ: account.TypePartnerHolding,
		admins: []string{PartnerEmail}, vas: []string{"EMEA", "Americas", "APJC"},
		grants: []grant{{"grace@northwind-partners.example", "", account.RoleUser}, {"grace@northwind-partners.example", "EMEA", account.RoleAdmin}}},
	{name: "Globex Corporation", domain: "globex.example", typ: account.TypeCustomer,
		admins: []string{"hank@globex.example"}, vas: []string{"Engineering", "Sales"},
		grants: []grant{{PartnerEmail, "", account.RoleUser}}},
	{name: "Initech", domain: "initech.example", typ: account.TypeCustomer,
		admins: []string{"peter@initech.example"},
		grants: []grant{{PartnerEmail, "", account.RoleViewer}}},
	{name: "Umbrella Corporation", domain: "umbrella.example", typ: account.TypeCustomer, restricted: true,
		admins: []string{"alice@umbrella.example"}, vas: []string{"Research"}},
	{name: "Northwind Lab Kit", domain: "lab.northwind-partners.example", typ: account.TypeLimitedUse,
		admins: []string{PartnerEmail}},
}

// accessRequest is someone asking for a role. query is how they found the
// account, which a restricted one needs.
type accessRequest struct {
	email, domain, query, va, reason string
	role                             account.Role
}

var accessRequests = []accessRequest{
	{email: NoRoleEmail, domain: "northwind-partners.example", role: account.RoleUser,
		reason: "I joined the EMEA team and will order licences for our customers."},
	{email: PartnerEmail, domain: "umbrella.example", query: "Umbrella Corporation", va: "Research", role: account.RoleViewer,
		reason: "Umbrella asked us to review their licence usage before the renewal."},
}

// Seed loads the demo data, skipping whatever is already there.
func Seed(ctx context.Context, svc *account.Service) error {
	for _, u := range users {
		_, err := svc.AddUser(ctx, account.NewUser{Email: u.email, Name: u.name, Password: Password, Staff: u.staff})
		if err != nil && !errors.Is(err, account.ErrConflict) {
			return fmt.Errorf("seed user %s: %w", u.email, err)
		}
	}
	for _, a := range accounts {
		sa, err := svc.AccountByDomain(ctx, a.domain)
		if errors.Is(err, account.ErrNotFound) {
			sa, err = svc.AddAccount(ctx, account.NewAccount{Name: a.name, Domain: a.domain, Type: a.typ,
				Restricted: a.restricted, AdminEmails: a.admins}, "demo seed")
		}
		if err != nil {
			return fmt.Errorf("seed account %s: %w", a.name, err)
		}
		for _, va := range a.vas {
			if err := svc.AddVirtualAccount(ctx, sa.ID, va, "demo seed"); err != nil && !errors.Is(err, account.ErrConflict) {
				return fmt.Errorf("seed virtual account %s: %w", va, err)
			}
		}
		for _, g := range a.grants {
			if err := svc.GrantRole(ctx, g.email, sa.ID, g.va, g.role, "demo seed"); err != nil {
				return fmt.Errorf("seed grant %s: %w", g.email, err)
			}
		}
	}
	for _, r := range accessRequests {
		u, err := svc.UserByEmail(ctx, r.email)
		if err != nil {
			return fmt.Errorf("seed access request of %s: %w", r.email, err)
		}
		sa, err := svc.AccountByDomain(ctx, r.domain)
		if err != nil {
			return fmt.Errorf("seed access request to %s: %w", r.domain, err)
		}
		in := account.AccessRequestInput{Scope: string(account.ScopeAccount), Role: string(r.role), Reason: r.reason}
		if r.va != "" {
			in.Scope, in.VirtualAccounts = string(account.ScopeVirtual), []string{r.va}
		}
		_, err = svc.RequestAccess(ctx, u, sa.ID, r.query, in)
		if err != nil && !errors.Is(err, account.ErrAccessAlreadyRequested) && !errors.Is(err, account.ErrAccessAlreadyHeld) {
			return fmt.Errorf("seed access request of %s to %s: %w", r.email, r.domain, err)
		}
	}
	return nil
}
