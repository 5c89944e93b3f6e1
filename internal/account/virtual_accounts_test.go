package account_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
)

func TestVirtualAccountRules(t *testing.T) {
	active := account.SmartAccount{Status: account.StatusActive}
	pending := account.SmartAccount{Status: account.StatusPending}
	admin := account.Relation{Role: account.RoleAdmin}
	user := account.Relation{Role: account.RoleUser, VARole: account.RoleAdmin}
	va := func(name string, viewer account.Role, holders, requests int, rule bool) account.ManagedVirtualAccount {
		return account.ManagedVirtualAccount{VirtualAccount: account.VirtualAccount{Name: name},
			ViewerRole: viewer, Holders: holders, PendingRequests: requests, InRule: rule}
	}
	for _, c := range []struct {
		name           string
		a              account.SmartAccount
		rel            account.Relation
		va             account.ManagedVirtualAccount
		rename, delete error
	}{
		{"admin, empty", active, admin, va("Lab", "", 0, 0, false), nil, nil},
		{"admin, DEFAULT", active, admin, va("DEFAULT", "", 0, 0, false), account.ErrDefaultVirtualAccount, account.ErrDefaultVirtualAccount},
		{"admin, holders", active, admin, va("Lab", "", 1, 0, false), nil, account.ErrVirtualAccountInUse},
		{"admin, requested", active, admin, va("Lab", "", 0, 1, false), nil, account.ErrVirtualAccountInUse},
		{"admin, in a rule", active, admin, va("Lab", "", 0, 0, true), nil, account.ErrVirtualAccountInUse},
		{"admin of a pending account", pending, admin, va("Lab", "", 0, 0, false), account.ErrNotFound, account.ErrNotFound},
		{"VA admin, own", active, user, va("Lab", account.RoleAdmin, 1, 0, false), nil, account.ErrNotFound},
		{"VA admin, another", active, user, va("Ops", "", 0, 0, false), account.ErrNotFound, account.ErrNotFound},
		{"VA user", active, account.Relation{VARole: account.RoleUser}, va("Lab", account.RoleUser, 1, 0, false), account.ErrNotFound, account.ErrNotFound},
		{"nobody", active, account.Relation{}, va("Lab", "", 0, 0, false), account.ErrNotFound, account.ErrNotFound},
	} {
		if got := account.MayRenameVirtualAccount(c.a, c.rel, c.va); !errors.Is(got, c.rename) || (c.rename == nil && got != nil) {
			t.Errorf("%s: rename %v, want %v", c.name, got, c.rename)
		}
		if got := account.MayDeleteVirtualAccount(c.a, c.rel, c.va); !errors.Is(got, c.delete) || (c.delete == nil && got != nil) {
			t.Errorf("%s: delete %v, want %v", c.name, got, c.delete)
		}
	}
}

func TestCheckVirtualAccountName(t *testing.T) {
	for raw, want := range map[string]string{
		"  Lab One ": "Lab One", "Zürich": "Zürich", strings.Repeat("é", account.MaxNameLength): strings.Repeat("é", account.MaxNameLength),
		"": "va.error.name_required", "   ": "va.error.name_required", strings.Repeat("x", account.MaxNameLength+1): "request.error.too_long",
		"a\nb": "va.error.name_text", "a\tb": "va.error.name_text", "a\x00b": "va.error.name_text", "\xff": "va.error.name_text",
		"default": "va.error.name_taken", "DEFAULT": "va.error.name_taken",
	} {
		name, fe := account.CheckVirtualAccountName(raw)
		got := name
		if fe != nil {
			got = fe.Msg
		}
		if got != want {
			t.Errorf("%q: %q, want %q", raw, got, want)
		}
	}
}
