package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/language"
)

// chooseFile puts a file of content in the file input sel, as choosing it
// in the browser's dialog does.
func chooseFile(b *tab, sel, name, content string) {
	b.t.Helper()
	text, _ := json.Marshal(content) // a JSON string is a script's string, new lines and all
	b.do(chromedp.Evaluate[chromedp.Void](`(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([` + string(text) + `], ` + jsString(name) + `, {type: "text/csv"}));
		document.querySelector(` + jsString(sel) + `).files = dt.files;
	})()`))
}

// TestBrowserUsersImport, in a real Chromium: Globex's Administrator
// uploads a file of good and bad rows from the Users page, reads the
// preview and applies it; the roles are there afterwards. axe-core checks
// each page on the way.
func TestBrowserUsersImport(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	b := openTab(t, m.app, language.English)
	b.signIn("hank@globex.example", "correct horse")
	b.visit(m.path("users"))
	b.axe("users, with Add users from CSV")
	if href := b.js(`document.getElementById("import-users-template").getAttribute("href")`); href != m.path("users/import.csv") {
		t.Errorf("the template link is %q", href)
	}
	chooseFile(b, "#file", "users.csv", "\ufeffemail;role;virtual account\r\n"+
		"ada@partner.example;viewer;\r\n"+
		"uma@globex.example;admin;\r\n"+
		"stranger@elsewhere.example;user;Sales\r\n"+
		"ghost@globex.example;user;\r\n"+
		"ada@partner.example;user;\r\n")
	b.do(chromedp.Click(chromedp.CSS("#import-users button[type=submit]")))
	b.waitFor("#import-rows")
	b.axe("users import preview")
	if got := b.text("#import-summary"); got != "To add: 2. To change: 1. Already in place: 0. Refused: 2." {
		t.Errorf("summary %q", got)
	}
	if got := b.text("#import-rows tbody"); !strings.Contains(got, "No user has this email address") || !strings.Contains(got, "Repeats line 2") {
		t.Errorf("the refused rows do not say why: %s", got)
	}
	if n := m.count(t, `SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'ada@partner.example'`); n != 0 {
		t.Fatalf("the preview changed roles: ada holds %d", n)
	}
	b.do(chromedp.Click(chromedp.CSS("#import-apply button[type=submit]")))
	b.waitFor(".flash")
	if got := b.text(".flash"); got != "Roles given: 2. Roles changed: 1." {
		t.Errorf("after Apply: %q", got)
	}
	b.axe("users after the import")
	got := m.str(t, `SELECT string_agg(u.email || ' ' || coalesce(v.name, '-') || ' ' || m.role, ', ' ORDER BY u.email)
		FROM memberships m JOIN users u ON u.id = m.user_id LEFT JOIN virtual_accounts v ON v.id = m.virtual_account_id
		WHERE m.smart_account_id = $1 AND u.email IN ('ada@partner.example', 'uma@globex.example', 'stranger@elsewhere.example', 'ghost@globex.example')`, m.globex.ID)
	if got != "ada@partner.example - viewer, stranger@elsewhere.example Sales user, uma@globex.example - admin" {
		t.Errorf("roles after the import: %s", got)
	}
}
