package account

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The account request's rules as pure functions, table by table: no
// database, no HTTP.

func TestLinkStateAt(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	pending := AccountRequest{Status: RequestPending, ExpiresAt: now.Add(time.Hour)}
	with := func(r AccountRequest, f func(*AccountRequest)) AccountRequest { f(&r); return r }
	forwarded := ApprovalLink{RevokedAt: now.Add(-time.Minute), ForwardedTo: "cfo@globex.example"}
	removed := ApprovalLink{RevokedAt: now.Add(-time.Minute)}
	for _, c := range []struct {
		name     string
		link     ApprovalLink
		req      AccountRequest
		replaced bool
		want     LinkState
	}{
		{"live", ApprovalLink{}, pending, false, LinkLive},
		{"replaced by a reminder", ApprovalLink{}, pending, true, LinkReplaced},
		{"forwarded", forwarded, pending, false, LinkForwarded},
		{"removed by the partner", removed, pending, false, LinkRemoved},
		{"expired, not yet by the job", ApprovalLink{}, with(pending, func(r *AccountRequest) { r.ExpiresAt = now }), false, LinkExpired},
		{"expired by the job", ApprovalLink{}, with(pending, func(r *AccountRequest) { r.Status = RequestExpired }), false, LinkExpired},
		{"withdrawn", forwarded, with(pending, func(r *AccountRequest) { r.Status = RequestWithdrawn }), false, LinkWithdrawn},
		// What ended the request is the news, whatever became of the link.
		{"decided after a forward", forwarded, with(pending, func(r *AccountRequest) { r.Status = RequestApproved }), true, LinkDecided},
		{"denied", ApprovalLink{}, with(pending, func(r *AccountRequest) { r.Status = RequestDenied }), false, LinkDecided},
	} {
		if got := LinkStateAt(c.link, c.req, c.replaced, now); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestMaySeeRequest(t *testing.T) {
	r := AccountRequest{RequestedBy: 1, Account: SmartAccount{ID: 7}}
	for _, c := range []struct {
		name string
		u    User
		rel  Relation // to account 7
		want bool
	}{
		{"the partner who sent it", User{ID: 1}, Relation{Creator: true}, true},
		{"staff", User{ID: 2, Staff: true}, Relation{}, true},
		{"the account's Administrator", User{ID: 3}, Relation{Role: RoleAdmin}, true},
		{"a User of the account", User{ID: 4}, Relation{Role: RoleUser}, false},
		{"a Virtual Account's Administrator", User{ID: 5}, Relation{VARole: RoleAdmin}, false},
		{"someone who asked for access", User{ID: 6}, Relation{AskedAccess: true}, false},
		{"anyone else", User{ID: 9}, Relation{}, false},
	} {
		if got := MaySeeRequest(c.u, r, c.rel); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestTheFormsChecks(t *testing.T) {
	ada := User{ID: 1, Email: "ada@partner.example", Language: "de"}
	valid := AccountRequestInput{Name: "Globex", Domain: "globex.example", NoteToApprover: "Our customer.",
		CustomerEmails: "hank@globex.example", UserEmails: "it@globex.example"}
	with := func(f func(*AccountRequestInput)) AccountRequestInput { in := valid; f(&in); return in }
	for _, c := range []struct {
		name  string
		in    AccountRequestInput
		field string // "" when the form passes
		msg   string
	}{
		{"valid", valid, "", ""},
		{"no name", with(func(in *AccountRequestInput) { in.Name = "  " }), "name", "request.error.name_required"},
		{"name too long", with(func(in *AccountRequestInput) { in.Name = strings.Repeat("x", MaxNameLength+1) }), "name", "request.error.too_long"},
		{"a public suffix", with(func(in *AccountRequestInput) { in.Domain = "co.uk" }), "domain", "request.error.domain_suffix"},
		{"not a domain", with(func(in *AccountRequestInput) { in.Domain = "not a domain" }), "domain", "request.error.domain_syntax"},
		{"another's domain without a note", with(func(in *AccountRequestInput) { in.NoteToApprover = "" }), "note_to_approver", "request.error.note_required"},
		{"no approver", with(func(in *AccountRequestInput) { in.CustomerEmails = "" }), "customer_emails", "request.error.emails_required"},
		{"too many approvers", with(func(in *AccountRequestInput) {
			for i := range MaxCustomerEmails + 1 {
				in.CustomerEmails += fmt.Sprintf("a%d@globex.example ", i)
			}
		}), "customer_emails", "request.error.too_many_emails"},
		{"an approver at the partner's domain", with(func(in *AccountRequestInput) { in.CustomerEmails = "bob@partner.example" }), "customer_emails", "request.error.own_domain"},
		{"an outside approver, noted", with(func(in *AccountRequestInput) { in.CustomerEmails = "boss@mailbox.example" }), "", ""},
		{"a user outside the domain", with(func(in *AccountRequestInput) { in.UserEmails = "eve@evil.example" }), "user_emails", "request.error.user_outside"},
		{"an unknown language", with(func(in *AccountRequestInput) { in.CustomerLanguage = "xx" }), "customer_language", "request.error.language"},
	} {
		c2, fe := checkForm(ada, c.in)
		switch {
		case c.field == "" && len(fe) > 0:
			t.Errorf("%s: refused %v", c.name, fe)
		case c.field != "" && fe[c.field].Msg != c.msg:
			t.Errorf("%s: %s says %q, want %q (all: %v)", c.name, c.field, fe[c.field].Msg, c.msg, fe)
		}
		if c.name == "valid" && (c2.Domain != "globex.example" || c2.CustomerLanguage != "de" || len(c2.Held) != 0) {
			t.Errorf("valid form checked as %+v", c2)
		}
		if c.name == "an outside approver, noted" && strings.Join(c2.Held, ",") != "boss@mailbox.example" {
			t.Errorf("the outside approver is not held: %+v", c2.Held)
		}
	}
}
