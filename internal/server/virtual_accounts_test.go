package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/paths"
)

// readModelsMatchSources checks that the directory's and the menus' read
// models (accessible_accounts, each account's admin contacts, and the
// Account Management menu counts) are exactly what their sources say.
func (a *app) readModelsMatchSources(t *testing.T, step string) {
	t.Helper()
	var off []string
	err := a.db.Pool.QueryRow(context.Background(), `
		WITH want AS (
			SELECT DISTINCT m.user_id, sa.name_folded, sa.id, sa.domain
			FROM memberships m JOIN smart_accounts sa ON sa.id = m.smart_account_id
		), have AS (SELECT user_id, name_folded, smart_account_id, domain FROM accessible_accounts),
		admins AS (
			SELECT sa.name FROM smart_accounts sa
			LEFT JOIN LATERAL (
				SELECT coalesce(array_agg(a.name ORDER BY lower(a.name), a.id), '{}') AS names
				FROM (SELECT u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id
					WHERE m.smart_account_id = sa.id AND m.virtual_account_id IS NULL AND m.role = 'admin'
					ORDER BY lower(u.name), u.id LIMIT $1) a
			) w ON true
			WHERE sa.admin_names IS DISTINCT FROM w.names
		), menus AS (
			SELECT u.id FROM users u
			LEFT JOIN management_menus mm ON mm.user_id = u.id
			LEFT JOIN LATERAL (
				SELECT count(sa.id)::int AS accounts,
					coalesce(sum((SELECT count(*) FROM access_requests r WHERE r.smart_account_id = sa.id AND r.status = 'pending')), 0)::int AS pending
				FROM memberships m JOIN smart_accounts sa ON sa.id = m.smart_account_id AND sa.status = 'active'
				WHERE m.user_id = u.id AND m.virtual_account_id IS NULL AND m.role = 'admin'
			) w ON true
			WHERE (coalesce(mm.accounts, 0), coalesce(mm.pending, 0)) IS DISTINCT FROM (w.accounts, w.pending)
		)
		SELECT ARRAY(SELECT 'accessible ' || x.user_id FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM have) x)
			|| ARRAY(SELECT 'accessible extra ' || x.user_id FROM (SELECT * FROM have EXCEPT ALL SELECT * FROM want) x)
			|| ARRAY(SELECT 'admins ' || name FROM admins)
			|| ARRAY(SELECT 'menu ' || id FROM menus)`, account.MaxShownAdmins).Scan(&off)
	if err != nil {
		t.Fatal(err)
	}
	if len(off) > 0 {
		t.Errorf("%s: read models differ from their sources: %v", step, off)
	}
}

func (m *managed) vaID(t *testing.T, name string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(m.str(t, `SELECT id::text FROM virtual_accounts WHERE smart_account_id = $1 AND name = $2`, m.globex.ID, name), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (m *managed) vaNames(t *testing.T) string {
	t.Helper()
	return m.str(t, `SELECT string_agg(name, ',' ORDER BY name) FROM virtual_accounts WHERE smart_account_id = $1`, m.globex.ID)
}

// TestVirtualAccountsCreatedRenamedDeleted: the Smart Account's
// Administrator creates, renames and deletes a Virtual Account on the
// account's page; each change is an event, the directory shows it, and the
// read models stay what their sources say.
func TestVirtualAccountsCreatedRenamedDeleted(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	hank := m.signedIn("hank@globex.example")
	page := paths.Account(m.globex.ID)
	m.readModelsMatchSources(t, "start")

	p := hank.get(page)
	wantStatus(t, p, http.StatusOK)
	if p.Doc.Find("#manage-virtual-accounts form#create-virtual-account").Length() != 1 {
		t.Fatalf("no Create Virtual Account for the administrator: %s", text(p, "main"))
	}
	action, _ := p.Doc.Find("form#create-virtual-account").Attr("action")
	wantRedirect(t, hank.post(action, url.Values{"name": {"  Lab One  "}}), page+"#virtual-accounts")
	if got := m.vaNames(t); got != "DEFAULT,Engineering,Lab One,Sales" {
		t.Errorf("after create: %s", got)
	}
	m.readModelsMatchSources(t, "created")
	lab := m.vaID(t, "Lab One")

	p = hank.get(page)
	if !strings.Contains(text(p, ".flash, [role=status]"), "Lab One") && !strings.Contains(p.Body, "Virtual Account Lab One created.") {
		t.Error("no notice after creating")
	}
	rename, _ := p.Doc.Find(`form[action="` + paths.VirtualAccountAction(m.globex.ID, lab, "rename") + `"]`).Attr("action")
	if rename == "" {
		t.Fatal("no Rename for the new Virtual Account")
	}
	wantRedirect(t, hank.post(rename, url.Values{"name": {"Lab Two"}}), page+"#virtual-accounts")
	if got := m.vaNames(t); got != "DEFAULT,Engineering,Lab Two,Sales" {
		t.Errorf("after rename: %s", got)
	}
	m.readModelsMatchSources(t, "renamed")
	// The directory shows the new name, as every Virtual Account list does.
	if dir := hank.get(paths.Directory); !strings.Contains(dir.Body, "Lab Two") || strings.Contains(dir.Body, "Lab One") {
		t.Error("the directory does not show the renamed Virtual Account")
	}

	del := paths.VirtualAccountAction(m.globex.ID, lab, "delete")
	if hank.get(page).Doc.Find(`form[action="`+del+`"]`).Length() != 1 {
		t.Fatal("no Delete for an empty Virtual Account")
	}
	wantRedirect(t, hank.post(del, url.Values{}), page+"#virtual-accounts")
	if got := m.vaNames(t); got != "DEFAULT,Engineering,Sales" {
		t.Errorf("after delete: %s", got)
	}
	m.readModelsMatchSources(t, "deleted")

	if got := m.str(t, `SELECT string_agg(kind || ':' || actor || ':' || (params->>'virtual_account') || ':' || coalesce(params->>'old_name', ''), ' ' ORDER BY id)
		FROM events WHERE smart_account_id = $1 AND kind LIKE 'virtual_account_%' AND actor <> 'test'`, m.globex.ID); got !=
		"virtual_account_created:hank@globex.example:Lab One: virtual_account_renamed:hank@globex.example:Lab Two:Lab One virtual_account_deleted:hank@globex.example:Lab Two:" {
		t.Errorf("events: %s", got)
	}
	history := text(hank.get(page), "#history")
	for _, want := range []string{"Virtual Account created", "Virtual Account renamed", "Lab One → Lab Two", "Virtual Account deleted"} {
		if !strings.Contains(history, want) {
			t.Errorf("the history lacks %q: %s", want, history)
		}
	}
}

// TestVirtualAccountRefusals: each refusal changes nothing, and ids the
// viewer may not manage are pages that do not exist.
func TestVirtualAccountRefusals(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	hank := m.signedIn("hank@globex.example")
	eng, sales, def := m.vaID(t, "Engineering"), m.vaID(t, "Sales"), m.vaID(t, account.DefaultVirtualAccount)
	create := paths.AccountPart(m.globex.ID, "virtual-accounts")
	events := func() int {
		return m.count(t, `SELECT count(*) FROM events WHERE kind LIKE 'virtual_account_%' AND actor <> 'test'`)
	}

	// Not an administrator of the Smart Account: no such page.
	for _, who := range []string{"uma@globex.example", "vera@globex.example", "stranger@elsewhere.example", "ops@clc.example"} {
		b := m.signedIn(who)
		if b.get(paths.Account(m.globex.ID)).Doc.Find("#manage-virtual-accounts").Length() != 0 {
			t.Errorf("%s is offered to manage Virtual Accounts", who)
		}
		wantStatus(t, b.post(create, url.Values{"name": {"Mine"}}), http.StatusNotFound)
		wantStatus(t, b.post(paths.VirtualAccountAction(m.globex.ID, sales, "rename"), url.Values{"name": {"Mine"}}), http.StatusNotFound)
		wantStatus(t, b.post(paths.VirtualAccountAction(m.globex.ID, sales, "delete"), url.Values{}), http.StatusNotFound)
	}
	// A Virtual Account Administrator renames their own, and nothing else.
	va := m.signedIn("vaadmin@globex.example")
	vp := va.get(paths.Account(m.globex.ID))
	if vp.Doc.Find("form#create-virtual-account").Length() != 0 || vp.Doc.Find(`form[action$="/delete"]`).Length() != 0 {
		t.Error("a Virtual Account Administrator is offered to create or delete")
	}
	if vp.Doc.Find(`form[action="`+paths.VirtualAccountAction(m.globex.ID, eng, "rename")+`"]`).Length() != 1 {
		t.Error("a Virtual Account Administrator is not offered to rename their own")
	}
	wantStatus(t, va.post(create, url.Values{"name": {"Mine"}}), http.StatusNotFound)
	wantStatus(t, va.post(paths.VirtualAccountAction(m.globex.ID, sales, "rename"), url.Values{"name": {"Mine"}}), http.StatusNotFound)
	wantStatus(t, va.post(paths.VirtualAccountAction(m.globex.ID, eng, "delete"), url.Values{}), http.StatusNotFound)
	wantRedirect(t, va.post(paths.VirtualAccountAction(m.globex.ID, eng, "rename"), url.Values{"name": {"R&D"}}), paths.Account(m.globex.ID)+"#virtual-accounts")
	if got := m.vaNames(t); got != "DEFAULT,R&D,Sales" {
		t.Errorf("after the VA admin's rename: %s", got)
	}
	n := events()

	// DEFAULT stays: not renamed, not deleted.
	p := hank.post(paths.VirtualAccountAction(m.globex.ID, def, "rename"), url.Values{"name": {"Main"}})
	wantStatus(t, p, http.StatusConflict)
	if !strings.Contains(text(p, "main"), "DEFAULT Virtual Account cannot be renamed") {
		t.Errorf("renaming DEFAULT: %s", text(p, "main"))
	}
	wantStatus(t, hank.post(paths.VirtualAccountAction(m.globex.ID, def, "delete"), url.Values{}), http.StatusConflict)
	// Not empty: Engineering (now R&D) has its administrator.
	p = hank.post(paths.VirtualAccountAction(m.globex.ID, eng, "delete"), url.Values{})
	wantStatus(t, p, http.StatusConflict)
	if !strings.Contains(text(p, "main"), "not empty") {
		t.Errorf("deleting a Virtual Account with users: %s", text(p, "main"))
	}
	// Names: taken whatever the case, DEFAULT's included, empty, too long,
	// or not one line; each keeps what was typed.
	for name, want := range map[string]string{
		"sales": "already has a Virtual Account named sales", "r&d": "already has", "default": "already has",
		"   ": "Enter a Virtual Account Name", strings.Repeat("x", account.MaxNameLength+1): "at most",
		"Two\nlines": "one line",
	} {
		p := hank.post(create, url.Values{"name": {name}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if msg := text(p, "#create-virtual-account"); !strings.Contains(msg, want) {
			t.Errorf("create %q: %q lacks %q", name, msg, want)
		}
		p = hank.post(paths.VirtualAccountAction(m.globex.ID, sales, "rename"), url.Values{"name": {name}})
		if name == "sales" {
			continue // its own name in another case is a rename it may make
		}
		wantStatus(t, p, http.StatusUnprocessableEntity)
	}
	// Another account's Virtual Account, through this account's path or its
	// own, and ids that name nothing.
	other := m.account("Initech", "initech.example", "hank@globex.example")
	m.virtualAccount(other, "Printers")
	printers := m.str(t, `SELECT id::text FROM virtual_accounts WHERE name = 'Printers'`)
	otherID, _ := strconv.ParseInt(printers, 10, 64)
	wantStatus(t, hank.post(paths.VirtualAccountAction(m.globex.ID, otherID, "rename"), url.Values{"name": {"Mine"}}), http.StatusNotFound)
	wantStatus(t, hank.post(paths.VirtualAccountAction(m.globex.ID, otherID, "delete"), url.Values{}), http.StatusNotFound)
	for _, bad := range []string{"0", "-1", "x", "99999999999999999999"} {
		wantStatus(t, hank.post(paths.AccountPart(m.globex.ID, "virtual-accounts/"+bad+"/delete"), url.Values{}), http.StatusNotFound)
	}
	// The one change among them: Sales renamed to its own name in lower case.
	if got := m.vaNames(t); got != "DEFAULT,R&D,sales" {
		t.Errorf("refusals changed the Virtual Accounts: %s", got)
	}
	if got := m.str(t, `SELECT name FROM virtual_accounts WHERE name = 'Printers'`); got != "Printers" {
		t.Errorf("another account's Virtual Account changed: %s", got)
	}
	if got := events(); got != n+1 {
		t.Errorf("refusals and one rename recorded %d events, want 1", got-n)
	}
	m.readModelsMatchSources(t, "after refusals")
}

// TestVirtualAccountsPerAccountAreBounded: an administrator makes at most
// account.MaxVirtualAccounts (DEFAULT included); the next is refused by the
// form, with the limit, and makes no row and no event.
func TestVirtualAccountsPerAccountAreBounded(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	hank := m.signedIn("hank@globex.example")
	// Up to one short of the limit, as the form would make them.
	m.db.Exec(t, `INSERT INTO virtual_accounts (smart_account_id, name, created_at)
		SELECT $1, 'Bulk ' || n, now() FROM generate_series(1, $2 - (SELECT count(*) FROM virtual_accounts WHERE smart_account_id = $1) - 1) n`,
		m.globex.ID, account.MaxVirtualAccounts)
	create := paths.AccountPart(m.globex.ID, "virtual-accounts")
	wantRedirect(t, hank.post(create, url.Values{"name": {"The last"}}), paths.Account(m.globex.ID)+"#virtual-accounts")
	rows := func() int {
		return m.count(t, `SELECT count(*) FROM virtual_accounts WHERE smart_account_id = $1`, m.globex.ID)
	}
	events := func() int { return m.count(t, `SELECT count(*) FROM events WHERE kind = 'virtual_account_created'`) }
	if got := rows(); got != account.MaxVirtualAccounts {
		t.Fatalf("%d Virtual Accounts, want %d", got, account.MaxVirtualAccounts)
	}
	n := events()
	p := hank.post(create, url.Values{"name": {"One too many"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if msg := text(p, "#create-virtual-account"); !strings.Contains(msg, strconv.Itoa(account.MaxVirtualAccounts)+" Virtual Accounts") {
		t.Errorf("the refusal does not say the limit: %q", msg)
	}
	if rows() != account.MaxVirtualAccounts || events() != n {
		t.Error("the refused Virtual Account was stored or recorded")
	}
}
