package server_test

import (
	"net/http"
	"testing"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/internal/server"
)

// Every path the paths package writes reaches a route of the table: a
// route renamed in one place and not the other fails here, not in a
// person's browser or inbox.
func TestEveryPathWrittenIsRouted(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	id, token := account.AccountID(12), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	get := []string{paths.Home, paths.Login, paths.LoginCode, paths.CLC, paths.Directory, paths.Search, paths.NewRequest,
		paths.APITokens, paths.Manage, paths.AllAccessRequests, paths.OpsRequests, paths.OpsEmails, paths.TwoFactorSettings,
		paths.TwoFactorSetup, paths.TwoFactorQR, paths.RecoveryCodes, paths.Pending(token), paths.SetPassword(token),
		paths.PendingAction(token, "forward"), paths.PendingAction(token, "deny"), paths.RequestStatus(id), paths.Account(id),
		paths.AccountPart(id, "users"), paths.AccountPart(id, "automation"), paths.AccountPart(id, "access-requests"),
		paths.AccountPart(id, "request-access"), paths.AccessRequest(id, 3), paths.APIRequests, paths.APISmartAccounts,
		paths.APIRequest(id), paths.RequestAction(id, "renew"), paths.DirectorySectionPage(string(account.SectionCreated)),
		paths.Webhooks, paths.Webhook(7), paths.WebhookDelivery(7, 8), paths.APIWebhooks, paths.APIWebhook(7),
		paths.UsersImportTemplate(id), paths.UsersImportPreview(id, token)}
	post := []string{paths.Login, paths.LoginCode, paths.Logout, paths.Language, paths.NewRequest, paths.SubmitRequest,
		paths.APITokens, paths.RevokeAPIToken(4), paths.TwoFactorSetup, paths.TwoFactorDisable, paths.RetryEmail(5),
		paths.PendingAction(token, "approve"), paths.PendingAction(token, "deny"), paths.PendingAction(token, "forward"),
		paths.SetPassword(token), paths.RequestAction(id, "withdraw"), paths.RequestAction(id, "resend"),
		paths.RequestAction(id, "approvers"), paths.AccountPart(id, "users"), paths.AccountPart(id, "users/role"),
		paths.AccountPart(id, "users/remove"), paths.AccountPart(id, "automation"), paths.AccountPart(id, "request-access"),
		paths.AccountPart(id, "access-requests/bulk"), paths.AccessRequestAction(id, 3, "approve"),
		paths.AccessRequestAction(id, 3, "decline"), paths.OpsRequestAction(id, "approve"), paths.OpsRequestAction(id, "deny"),
		paths.OpsRequestAction(id, "allow"), paths.APIRequests, paths.RequestAction(id, "withdraw"),
		paths.AccountPart(id, "virtual-accounts"), paths.VirtualAccountAction(id, 6, "rename"), paths.VirtualAccountAction(id, 6, "delete"),
		paths.Webhooks, paths.WebhookAction(7, "rotate"), paths.WebhookAction(7, "delete"), paths.Redeliver(7, 8), paths.APIWebhooks,
		paths.APIWebhook(7) + "/rotate-secret",
		paths.OpsRequestAction(id, "assign"), paths.RequestAction(id, "messages"), paths.PendingAction(token, "messages"),
		paths.PendingAction(token, "seen"), paths.UsersImport(id), paths.UsersImportApply(id, token)}
	for _, p := range get {
		if !server.Routed(a.server, http.MethodGet, p) {
			t.Errorf("GET %s reaches no route", p)
		}
	}
	for _, p := range post {
		if !server.Routed(a.server, http.MethodPost, p) {
			t.Errorf("POST %s reaches no route", p)
		}
	}
	if !server.Routed(a.server, http.MethodPost, "/api/v1/account-requests/"+id.String()+"/withdraw") {
		t.Error("the API's withdraw reaches no route")
	}
}
