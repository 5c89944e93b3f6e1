package i18n_test

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
)

// messageUse finds literal message ids in code: i18n.T(ctx, "id"),
// i18n.N(ctx, "id", n), and the ids handlers pass to the responder.
var messageUse = regexp.MustCompile(`(?:i18n\.[TN]\([^,]+, |\b(?:heading|message|Msg|msg): )"([a-z_]+(?:\.[a-z_]+)+)"`)

// TestEveryMessageUsedExists reads the source for message ids and checks the
// English catalog has each, so a missing string fails here, not on a page.
func TestEveryMessageUsedExists(t *testing.T) {
	ids, err := i18n.IDs()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, id := range ids {
		have[id] = true
	}
	found := 0
	for _, root := range []string{"../../internal", "../../web"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".templ")) ||
				strings.HasSuffix(path, "_templ.go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range messageUse.FindAllStringSubmatch(string(src), -1) {
				found++
				if !have[m[1]] {
					t.Errorf("%s uses message %q, which en.toml lacks", path, m[1])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Ids built from a prefix and a value.
	for _, v := range []string{"active", "pending", "denied", "expired"} {
		check(t, have, "status."+v)
	}
	for _, v := range []string{"admin", "user", "viewer", "approver"} {
		check(t, have, "role."+v)
	}
	for _, v := range []string{"pending", "sending", "sent", "failed"} {
		check(t, have, "email.state."+v)
	}
	for _, v := range []string{"customer", "partner_holding", "limited_use"} {
		check(t, have, "type."+v)
	}
	for _, v := range []account.EmailKind{account.EmailApprovalRequest, account.EmailSubdomainNotice, account.EmailRequestConfirmation,
		account.EmailAccessRequested, account.EmailRequestDenied, account.EmailRequestApproved, account.EmailAccountCreatedAdmin,
		account.EmailAddedUserWelcome, account.EmailRequestExpired, account.EmailApprovalReminder, account.EmailRequestWithdrawn,
		account.EmailMessageToApprover, account.EmailMessageToPartner, account.EmailApproversNotOpened} {
		check(t, have, "email.kind."+string(v))
	}
	for m := 1; m <= 12; m++ {
		check(t, have, fmt.Sprintf("date.month.%d", m))
	}
	for _, v := range []string{"requested", "emailed", "forwarded", "denied", "approved", "expired", "reminded", "withdrawn",
		"access_granted", "access_requested", "created", "virtual_account_created"} {
		check(t, have, "event."+v)
	}
	if found < 20 {
		t.Fatalf("found only %d message uses: the pattern no longer matches the code", found)
	}
}

func TestMatchAndPlural(t *testing.T) {
	c, err := i18n.Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Match("", "xx-YY, en;q=0.5").String(); got != "en" {
		t.Errorf("Match fell back to %q, want en", got)
	}
	if got := c.Match("klingon", "").String(); got != "en" {
		t.Errorf("an unsupported choice gave %q", got)
	}
	tr := c.Translator(c.Match("", "en-GB"))
	if one, many := tr.N("clc.summary", 1), tr.N("clc.summary", 3); !strings.Contains(one, "1 Smart Account.") || !strings.Contains(many, "3 Smart Accounts.") {
		t.Errorf("plural forms: %q / %q", one, many)
	}
}

func check(t *testing.T, have map[string]bool, id string) {
	t.Helper()
	if !have[id] {
		t.Errorf("en.toml lacks %q", id)
	}
}
