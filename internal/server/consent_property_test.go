package server_test

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
)

// TestConsentHoldsWhateverThePartnerDoes drives random sequences of what a
// partner can do to one request (change approvers, resend, act on every
// link it can get hold of: forward, approve, deny) through the real router,
// and checks after every step that no one at the partner's domain, and no
// address outside the account's domain, holds a live link or a role on the
// account. No operator takes part, so no outside address is ever allowed.
// CLC_CONSENT_RUNS sets the number of sequences (default 6).
func TestConsentHoldsWhateverThePartnerDoes(t *testing.T) {
	t.Parallel()
	runs := 6
	if v, err := strconv.Atoi(os.Getenv("CLC_CONSENT_RUNS")); err == nil && v > 0 {
		runs = v
	}
	for seed := range uint64(runs) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			consentSequence(t, seed, 30)
		})
	}
}

// The addresses a partner at partner.example can try on globex.example's
// request: the customer's, its own colleagues', and mailboxes outside both,
// one of which it controls (ada.home@mailbox.example).
var consentPool = []string{
	"hank@globex.example", "cfo@globex.example", "it@emea.globex.example",
	"ada@partner.example", "bob@sales.partner.example",
	"ada.home@mailbox.example", "eve@notglobex.example", "x@globex.example.evil.example",
}

func consentSequence(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	a, partner := requester(t) // ada@partner.example
	pick := func(n int) []string {
		var out []string
		for _, i := range rng.Perm(len(consentPool))[:n] {
			out = append(out, consentPool[i])
		}
		return out
	}
	form := formFor("Globex Corporation", "globex.example", strings.Join(pick(1+rng.IntN(3)), ", "))
	form.Set("user_emails", strings.Join(pick(rng.IntN(3)), " "))
	form.Set("submission_key", account.NewSubmissionKey())
	p := partner.post("/clc/accounts/new/submit", form)
	if p.StatusCode != 303 {
		return // the form refused these approvers outright: nothing to attack
	}
	id := a.str(t, `SELECT smart_account_id::text FROM account_requests`)
	status := "/clc/requests/SA-" + strings.Repeat("0", 6-len(id)) + id
	attacker := a.browser()
	var log []string
	for step := range steps {
		// Whatever links exist, the partner is assumed to hold them all:
		// it may have guessed, phished or been forwarded any of them.
		var links []string
		for _, q := range a.outbox(t) {
			if q.Kind == "approval_request" && q.Secret != "" {
				links = append(links, "/pending/"+q.Secret)
			}
		}
		switch k := rng.IntN(10); {
		case k < 3:
			list := strings.Join(pick(1+rng.IntN(3)), " ")
			log = append(log, "change "+list)
			partner.post(status+"/approvers", url.Values{"customer_emails": {list}})
		case k < 5:
			to := pick(1)[0]
			log = append(log, "resend "+to)
			partner.post(status+"/resend", url.Values{"approver": {to}})
		case k < 8 && len(links) > 0:
			to := pick(1)[0]
			log = append(log, "forward to "+to)
			attacker.post(links[rng.IntN(len(links))]+"/forward", url.Values{"forward_to": {to}})
		case k < 9 && len(links) > 0:
			log = append(log, "approve")
			attacker.post(links[rng.IntN(len(links))]+"/approve", url.Values{"add_user": pick(2)})
		case len(links) > 0:
			log = append(log, "deny")
			attacker.post(links[rng.IntN(len(links))]+"/deny", url.Values{"reason": {"no"}})
		}
		checkConsent(t, a, log, step)
	}
}

// checkConsent fails when a live link or a role on any account but the
// partner's own is held by an address the customer did not choose.
func checkConsent(t *testing.T, a *app, log []string, step int) {
	t.Helper()
	rows, err := a.db.Pool.Query(t.Context(), `
		SELECT 'link', l.email FROM approval_links l JOIN account_requests r ON r.id = l.request_id
		WHERE l.revoked_at IS NULL AND r.status = 'pending'
		UNION ALL
		SELECT 'role', u.email FROM memberships m JOIN users u ON u.id = m.user_id
		JOIN smart_accounts sa ON sa.id = m.smart_account_id WHERE sa.domain = 'globex.example'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var what, email string
		if err := rows.Scan(&what, &email); err != nil {
			t.Fatal(err)
		}
		if account.PlaceApprover(email, "globex.example", "partner.example") != account.ApproverCustomer {
			t.Fatalf("after step %d %v, %s holds a %s on globex.example", step, log, email, what)
		}
	}
}
