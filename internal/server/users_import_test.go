package server_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/paths"
)

// upload posts content as the file of the "Add users from CSV" form, as a
// browser does; chunked sends it without a length, as a client that
// streams does.
func (b *browser) upload(path, fileName string, content []byte, chunked bool) page {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", fileName)
	if err != nil {
		b.t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = mw.Close()
	var body io.Reader = bytes.NewReader(buf.Bytes())
	if chunked {
		body = io.MultiReader(body) // hides the length
	}
	req, _ := http.NewRequest(http.MethodPost, b.app.srv.URL+path, body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.app.srv.URL)
	return b.do(req)
}

// uploadOfSize is a multipart body of exactly size bytes.
func uploadOfSize(t *testing.T, size int) (string, []byte) {
	t.Helper()
	build := func(n int) (string, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.SetBoundary("csvboundary")
		fw, _ := mw.CreateFormFile("file", "big.csv")
		// One row whose Virtual Account cell pads the body: past its
		// bound, so the row is refused, but the file is read.
		_, _ = fw.Write(append([]byte("ada@partner.example,user,"), bytes.Repeat([]byte("a"), n)...))
		_ = mw.Close()
		return mw.FormDataContentType(), buf.Bytes()
	}
	_, empty := build(0)
	ct, body := build(size - len(empty))
	if len(body) != size {
		t.Fatalf("body of %d bytes, want %d", len(body), size)
	}
	return ct, body
}

// importCSV is a file as a German spreadsheet saves it: a byte-order mark,
// semicolons, a header, CRLF; good rows and every kind of bad one.
const importCSV = "\ufeffE-Mail;Rolle;Virtual Account\r\n" +
	"ada@partner.example;viewer;\r\n" + // 2: added
	" uma@globex.example ; Administrator ;\r\n" + // 3: changed from User
	"vera@globex.example;viewer;\r\n" + // 4: already has it
	"stranger@elsewhere.example;user;engineering\r\n" + // 5: added on Engineering
	"ghost@globex.example;user;\r\n" + // 6: nobody has the address
	"not an address;user;\r\n" + // 7
	"ADA@partner.example;user;\r\n" + // 8: repeats line 2
	"vera@globex.example;approver;Sales\r\n" + // 9: Approver on a Virtual Account
	"ops@clc.example;owner;\r\n" + // 10: no such role
	"uma@globex.example;user;Marketing\r\n" // 11: no such Virtual Account

// An administrator uploads a file, sees each row's outcome with nothing
// changed, applies it: every applicable row is granted in one go, each with
// its event, and the preview cannot be applied again, nor by anyone else.
func TestUsersImportPreviewsThenApplies(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	hank := m.signedIn("hank@globex.example")
	users := m.path("users")
	page := hank.get(users)
	wantStatus(t, page, http.StatusOK)
	if page.Doc.Find(`form#import-users[enctype="multipart/form-data"] input[type=file]#file`).Length() != 1 {
		t.Fatal("the Users page has no Add users from CSV form")
	}
	tmpl := hank.get(paths.UsersImportTemplate(m.globex.ID))
	wantStatus(t, tmpl, http.StatusOK)
	if !strings.HasPrefix(tmpl.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(tmpl.Body, "email,role,virtual_account\r\n") {
		t.Errorf("template: %s %q", tmpl.Header.Get("Content-Type"), tmpl.Body)
	}

	before := m.domainSnapshot(t)
	p := hank.upload(paths.UsersImport(m.globex.ID), "users.csv", []byte(importCSV), false)
	wantStatus(t, p, http.StatusSeeOther)
	preview := p.Header.Get("Location")
	if !strings.HasPrefix(preview, paths.UsersImport(m.globex.ID)+"/") {
		t.Fatalf("the upload leads to %q", preview)
	}
	wantUnchanged(t, before, m.domainSnapshot(t), "a preview")
	p = hank.get(preview)
	wantStatus(t, p, http.StatusOK)
	want := []string{
		"2 ada@partner.example The Smart Account Viewer To add",
		"3 uma@globex.example The Smart Account Administrator Role changes (now User)",
		"4 vera@globex.example The Smart Account Viewer Already has it",
		"5 stranger@elsewhere.example Engineering User To add",
		"6 ghost@globex.example The Smart Account User Refused No user has this email address. They need a Cisco.com account first.",
		"7 not an address The Smart Account User Refused Enter an email address, like name@example.com.",
		"8 ADA@partner.example The Smart Account User Refused Repeats line 2: the same user on the same account.",
		"9 vera@globex.example Sales Approver Refused Approver is a Smart Account role: it cannot be given on a Virtual Account.",
		"10 ops@clc.example The Smart Account owner Refused Unknown role: write admin, user, viewer or approver.",
		"11 uma@globex.example Marketing User Refused This Smart Account has no Virtual Account with that name.",
	}
	got := rows(p, "#import-rows tbody tr")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("preview rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := text(p, "#import-summary"); s != "To add: 2. To change: 1. Already in place: 1. Refused: 6." {
		t.Errorf("summary %q", s)
	}
	apply, _ := p.Doc.Find("form#import-apply").Attr("action")

	// Someone else, even an Administrator of the account, and another
	// account's id: the preview does not exist for them.
	m.grant("vaadmin@globex.example", m.globex, "", account.RoleAdmin)
	victor := m.signedIn("vaadmin@globex.example")
	wantStatus(t, victor.get(preview), http.StatusNotFound)
	wantStatus(t, victor.post(apply, nil), http.StatusNotFound)
	other := m.account("Initech", "initech.example", "hank@globex.example")
	wantStatus(t, hank.get(strings.Replace(preview, m.globex.ID.String(), other.ID.String(), 1)), http.StatusNotFound)
	wantStatus(t, hank.post(strings.Replace(apply, m.globex.ID.String(), other.ID.String(), 1), nil), http.StatusNotFound)
	before = m.domainSnapshot(t)
	wantUnchanged(t, before, m.domainSnapshot(t), "someone else's Apply")

	outboxBefore := m.count(t, `SELECT count(*) FROM outbox`)
	p = hank.post(apply, nil)
	wantRedirect(t, p, users)
	if f := text(hank.get(users), ".flash"); f != "Roles given: 2. Roles changed: 1." {
		t.Errorf("flash %q", f)
	}
	holds := func(email, va string) string {
		return m.str(t, `SELECT coalesce((SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id
			LEFT JOIN virtual_accounts v ON v.id = m.virtual_account_id
			WHERE u.email = $1 AND m.smart_account_id = $2 AND coalesce(v.name, '') = $3), '')`, email, m.globex.ID, va)
	}
	for _, c := range []struct{ email, va, role string }{
		{"ada@partner.example", "", "viewer"}, {"uma@globex.example", "", "admin"}, {"vera@globex.example", "", "viewer"},
		{"stranger@elsewhere.example", "Engineering", "user"}, {"ghost@globex.example", "", ""}, {"vera@globex.example", "Sales", ""},
		{"ops@clc.example", "", ""}, {"uma@globex.example", "Marketing", ""},
	} {
		if got := holds(c.email, c.va); got != c.role {
			t.Errorf("%s on %q holds %q, want %q", c.email, c.va, got, c.role)
		}
	}
	events := m.str(t, `SELECT string_agg(e.actor || ' ' || (e.params->>'user') || ' ' || (e.params->>'role') || ' ' || coalesce(e.params->>'virtual_account', ''), ', ' ORDER BY e.id)
		FROM events e WHERE e.kind = 'access_changed' AND e.smart_account_id = $1`, m.globex.ID)
	if events != "hank@globex.example ada@partner.example viewer , hank@globex.example uma@globex.example admin , hank@globex.example stranger@elsewhere.example user Engineering" {
		t.Errorf("events: %s", events)
	}
	// A single add emails nobody, and neither does the file.
	if n := m.count(t, `SELECT count(*) FROM outbox`); n != outboxBefore {
		t.Errorf("the Apply queued %d emails", n-outboxBefore)
	}

	// Applied once: a second Apply (a double click, a replay) changes nothing.
	before = m.domainSnapshot(t)
	p = hank.post(apply, nil)
	wantStatus(t, p, http.StatusConflict)
	if h := text(p, "h1"); h != "Already applied" {
		t.Errorf("second Apply says %q", h)
	}
	wantUnchanged(t, before, m.domainSnapshot(t), "a second Apply")
}

// Apply applies what was previewed or nothing: when the account changed so
// that a row would do something else, the new preview is shown instead.
func TestUsersImportShowsTheNewPreviewWhenTheAccountChanged(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	hank := m.signedIn("hank@globex.example")
	p := hank.upload(paths.UsersImport(m.globex.ID), "users.csv", []byte("ada@partner.example,viewer\nstranger@elsewhere.example,user\n"), false)
	wantStatus(t, p, http.StatusSeeOther)
	preview := p.Header.Get("Location")
	apply, _ := hank.get(preview).Doc.Find("form#import-apply").Attr("action")
	m.grant("ada@partner.example", m.globex, "", account.RoleUser) // meanwhile, by another way
	before := m.domainSnapshot(t)
	p = hank.post(apply, nil)
	wantStatus(t, p, http.StatusConflict)
	if p.Doc.Find("#import-changed").Length() != 1 {
		t.Error("the new preview does not say the account changed")
	}
	if got := rows(p, "#import-rows tbody tr"); len(got) != 2 || !strings.HasSuffix(got[0], "Role changes (now User)") || !strings.HasSuffix(got[1], "To add") {
		t.Errorf("the new preview: %q", got)
	}
	wantUnchanged(t, before, m.domainSnapshot(t), "an Apply of a stale preview")
	wantRedirect(t, hank.post(apply, nil), m.path("users"))
	if n := m.count(t, `SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.smart_account_id = $1 AND (u.email, m.role) IN (('ada@partner.example', 'viewer'), ('stranger@elsewhere.example', 'user'))`, m.globex.ID); n != 2 {
		t.Errorf("%d of 2 roles given after the second Apply", n)
	}
}

// What an attacker can send is bounded and refused before anything is
// stored: a body past 1 MiB (declared or streamed), a file past 5,000 rows,
// no file at all, and anyone but the account's Administrator.
func TestUsersImportRefusals(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	hank := m.signedIn("hank@globex.example")
	others := map[string]*browser{}
	for _, who := range []string{"uma@globex.example", "vaadmin@globex.example", "ops@clc.example", "stranger@elsewhere.example"} {
		others[who] = m.signedIn(who)
	}
	path := paths.UsersImport(m.globex.ID)
	before := m.domainSnapshot(t)
	nothingStored := func(what string) {
		t.Helper()
		wantUnchanged(t, before, m.domainSnapshot(t), what)
		if n := m.count(t, `SELECT count(*) FROM user_imports`); n != 0 {
			t.Errorf("%s stored %d previews", what, n)
		}
	}

	ct, body := uploadOfSize(t, account.MaxImportBytes+1)
	for _, chunked := range []bool{false, true} {
		var rd io.Reader = bytes.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd)
		}
		req, _ := http.NewRequest(http.MethodPost, m.srv.URL+path, rd)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		p := hank.do(req)
		wantStatus(t, p, http.StatusRequestEntityTooLarge)
		if msg := text(p, "#file-error"); msg != "The file is too large: at most 1024 KB can be uploaded." {
			t.Errorf("1 MiB + 1 (chunked %v) says %q", chunked, msg)
		}
		nothingStored("1 MiB + 1 byte")
	}
	// Exactly the limit is read.
	ct, body = uploadOfSize(t, account.MaxImportBytes)
	req, _ := http.NewRequest(http.MethodPost, m.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if p := hank.do(req); p.StatusCode != http.StatusSeeOther {
		t.Errorf("a body of exactly 1 MiB answers %d", p.StatusCode)
	}
	m.db.Exec(t, `DELETE FROM user_imports`)

	p := hank.upload(path, "many.csv", []byte("email,role\n"+strings.Repeat("ada@partner.example,viewer\n", account.MaxImportRows+1)), false)
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if msg := text(p, "#file-error"); msg != "The file has more than 5000 rows. Split it into several files." {
		t.Errorf("5,001 rows say %q", msg)
	}
	nothingStored("5,001 rows")

	p = hank.post(path, nil)
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if msg := text(p, "#file-error"); msg != "Choose a CSV file." {
		t.Errorf("no file says %q", msg)
	}
	nothingStored("no file")

	// Anyone but the Smart Account's Administrator: the form is not
	// there and the routes answer as if the account did not exist.
	for _, b := range others {
		wantStatus(t, b.upload(path, "users.csv", []byte("uma@globex.example,admin\n"), false), http.StatusNotFound)
		wantStatus(t, b.get(paths.UsersImportTemplate(m.globex.ID)), http.StatusNotFound)
	}
	nothingStored("a non-administrator's upload")
}

// TestUsersImportRefusesACraftedPreviewID: a preview id no preview of ours
// could have (a NUL byte, invalid UTF-8, 100 KiB) is 404 through the
// router, for the page and for Apply, and stores nothing.
func TestUsersImportRefusesACraftedPreviewID(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	hank := m.signedIn("hank@globex.example")
	for _, id := range []string{"%00", "%FF%FE", strings.Repeat("A", 100<<10), "short"} {
		preview := paths.UsersImport(m.globex.ID) + "/" + id
		wantStatus(t, hank.get(preview), http.StatusNotFound)
		wantStatus(t, hank.post(preview+"/apply", nil), http.StatusNotFound)
	}
	var n int
	if err := m.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM user_imports`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d previews stored, %v; want none", n, err)
	}
}
