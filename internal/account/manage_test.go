package account

import (
	"slices"
	"testing"
)

func TestUnderDomain(t *testing.T) {
	for _, tc := range []struct {
		d, domain string
		want      bool
	}{
		{"globex.example", "globex.example", true},
		{"emea.globex.example", "globex.example", true},
		{"notglobex.example", "globex.example", false},
		{"globex.example", "emea.globex.example", false},
		{"example", "globex.example", false},
	} {
		if got := UnderDomain(tc.d, tc.domain); got != tc.want {
			t.Errorf("UnderDomain(%q, %q) = %v", tc.d, tc.domain, got)
		}
	}
}

// A rule never grants more than was asked nor more than the rule allows.
func TestAutomationRulesApply(t *testing.T) {
	approve := AutomationRules{SameDomain: RuleApprove, SameDomainRole: RoleUser, OtherDomain: RuleDecline}
	asked := func(role Role, vas ...string) AccessRequest { return AccessRequest{Role: role, VirtualAccounts: vas} }
	for _, tc := range []struct {
		name  string
		rules AutomationRules
		email string
		req   AccessRequest
		want  *AccessDecision // nil: left for a person
	}{
		{"no rules", AutomationRules{}, "a@globex.example", asked(RoleAdmin), nil},
		{"no rules, elsewhere", AutomationRules{}, "a@else.example", asked(RoleAdmin), nil},
		{"same domain, asked more", approve, "a@globex.example", asked(RoleAdmin),
			&AccessDecision{Approve: true, Rule: RuleSameDomain, Role: RoleUser}},
		{"subdomain, asked less, on a Virtual Account", approve, "a@emea.globex.example", asked(RoleViewer, "Sales"),
			&AccessDecision{Approve: true, Rule: RuleSameDomain, Role: RoleViewer, VirtualAccounts: []string{"Sales"}}},
		{"rule names a Virtual Account", AutomationRules{SameDomain: RuleApprove, SameDomainRole: RoleAdmin, SameDomainVA: "Engineering"},
			"a@globex.example", asked(RoleUser), &AccessDecision{Approve: true, Rule: RuleSameDomain, Role: RoleUser, VirtualAccounts: []string{"Engineering"}}},
		{"other domain declined", approve, "a@globex-partners.example", asked(RoleViewer), &AccessDecision{Rule: RuleOtherDomain}},
		{"same domain left to a person", AutomationRules{SameDomain: RuleManual, OtherDomain: RuleDecline}, "a@globex.example", asked(RoleViewer), nil},
	} {
		got := tc.rules.Apply(tc.email, "globex.example", tc.req)
		switch {
		case (got == nil) != (tc.want == nil):
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		case got != nil && (got.Approve != tc.want.Approve || got.Rule != tc.want.Rule || got.Role != tc.want.Role ||
			!slices.Equal(got.VirtualAccounts, tc.want.VirtualAccounts)):
			t.Errorf("%s: got %+v, want %+v", tc.name, *got, *tc.want)
		}
	}
}
