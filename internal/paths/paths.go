// Package paths writes every path of the portal, for the handlers, the
// templates and the mail renderer alike; the route table
// (internal/server/routes.go) serves them, and a test there checks that
// each path written here reaches a route. The domain writes none.
package paths

import (
	"net/url"
	"strconv"

	"github.com/clc-portal/clc/internal/account"
)

// Pages without parameters.
const (
	Home              = "/"
	Login             = "/login"
	LoginCode         = "/login/code"
	Logout            = "/logout"
	Language          = "/language"
	CLC               = "/clc"
	Directory         = "/clc/directory"
	Search            = "/clc/search"
	NewRequest        = "/clc/accounts/new"
	SubmitRequest     = "/clc/accounts/new/submit"
	APITokens         = "/clc/api-tokens"
	Webhooks          = "/clc/webhooks"
	Manage            = "/clc/manage"
	AllAccessRequests = "/clc/manage/access-requests"
	OpsRequests       = "/ops/requests"
	OpsEmails         = "/ops/emails"
	OpsSSO            = "/ops/sso"
	OpsSSORelease     = "/ops/sso/release"
	LoginSSO          = "/login/sso"
	LoginSSOCallback  = "/login/sso/callback"
	LoggedOutSSO      = "/logout/sso"
	TwoFactorSettings = "/settings/two-factor"
	TwoFactorDisable  = "/settings/two-factor/disable"
	TwoFactorSetup    = "/two-factor/setup"
	TwoFactorQR       = "/two-factor/qr.png"
	RecoveryCodes     = "/two-factor/recovery-codes"
	API               = "/api/v1/"
)

// Pending is the Pending Request page an approval token opens, and
// PendingAction one of its actions ("approve", "deny", "forward",
// "messages", "seen").
func Pending(token string) string               { return "/pending/" + token }
func PendingAction(token, action string) string { return Pending(token) + "/" + action }

// SetPassword is the page a set-password token opens.
func SetPassword(token string) string { return "/set-password/" + token }

// LoginThen is Log In, going on to next afterwards.
func LoginThen(next string) string { return Login + "?next=" + url.QueryEscape(next) }

// RequestStatus is the partner's page of the request for account id, and
// RequestAction one of its actions ("withdraw", "resend", "approvers",
// "renew", "messages").
func RequestStatus(id account.AccountID) string { return "/clc/requests/" + id.String() }
func RequestAction(id account.AccountID, action string) string {
	return RequestStatus(id) + "/" + action
}

// RequestConversation and RequestFollowUp are the conversation and the
// follow-up (resend, change approvers) on the request's page.
func RequestConversation(id account.AccountID) string { return RequestStatus(id) + "#conversation" }
func RequestFollowUp(id account.AccountID) string     { return RequestStatus(id) + "#follow-up" }

// Account is a Smart Account's page, and AccountPart one of the pages
// under it ("users", "automation", "access-requests", "request-access",
// "virtual-accounts").
func Account(id account.AccountID) string { return "/clc/accounts/" + id.String() }
func AccountPart(id account.AccountID, part string) string {
	return Account(id) + "/" + part
}

// VirtualAccountAction is an action on Virtual Account va of account id
// ("rename", "delete"); AccountPart(id, "virtual-accounts") creates one.
func VirtualAccountAction(id account.AccountID, va int64, action string) string {
	return AccountPart(id, "virtual-accounts") + "/" + strconv.FormatInt(va, 10) + "/" + action
}

// UsersImport is where account id's "Add users from CSV" form posts,
// UsersImportTemplate its template file, UsersImportPreview one preview and
// UsersImportApply the preview's Apply.
func UsersImport(id account.AccountID) string         { return AccountPart(id, "users/import") }
func UsersImportTemplate(id account.AccountID) string { return AccountPart(id, "users/import.csv") }
func UsersImportPreview(id account.AccountID, importID string) string {
	return UsersImport(id) + "/" + url.PathEscape(importID)
}
func UsersImportApply(id account.AccountID, importID string) string {
	return UsersImportPreview(id, importID) + "/apply"
}

// AccessRequest is one access request to account id, for its requester and
// the account's administrators, and AccessRequestAction an action on it
// ("approve", "decline", "messages"); AccessRequestConversation is its
// conversation.
func AccessRequest(id account.AccountID, request int64) string {
	return AccountPart(id, "access-requests") + "/" + strconv.FormatInt(request, 10)
}
func AccessRequestAction(id account.AccountID, request int64, action string) string {
	return AccessRequest(id, request) + "/" + action
}
func AccessRequestConversation(id account.AccountID, request int64) string {
	return AccessRequest(id, request) + "#conversation"
}

// OpsRequestAction is an operator's action on the request for account id
// ("approve", "deny", "allow", "assign").
func OpsRequestAction(id account.AccountID, action string) string {
	return OpsRequests + "/" + id.String() + "/" + action
}

// The Event Log of an account, of a request, and of the whole portal;
// each with its CSV export beside it.
const (
	OpsEvents       = "/ops/events"
	OpsEventsExport = "/ops/events.csv"
	APIEvents       = "/api/v1/events"
)

func AccountEvents(id account.AccountID) string       { return Account(id) + "/events" }
func AccountEventsExport(id account.AccountID) string { return Account(id) + "/events.csv" }
func RequestEvents(id account.AccountID) string       { return RequestStatus(id) + "/events" }
func RequestEventsExport(id account.AccountID) string { return RequestStatus(id) + "/events.csv" }
func APIRequestEvents(id account.AccountID) string    { return APIRequest(id) + "/events" }

// OpsEmailsPage is a page of the outbox, RetryEmail an email's Retry.
func OpsEmailsPage(page int) string    { return OpsEmails + "?page=" + strconv.Itoa(page) }
func RetryEmail(id int64) string       { return OpsEmails + "/" + strconv.FormatInt(id, 10) + "/retry" }
func RevokeAPIToken(id int64) string   { return APITokens + "/" + strconv.FormatInt(id, 10) + "/revoke" }
func DirectorySection(s string) string { return Directory + "#section-" + s }

// DirectorySectionPage is one section of the directory on a page of its
// own ("access", "requested", "created", "domain").
func DirectorySectionPage(s string) string { return Directory + "/" + s }

// The JSON API's collections, and an account request in it.
const (
	APIRequests      = "/api/v1/account-requests"
	APISmartAccounts = "/api/v1/smart-accounts"
)

func APIRequest(id account.AccountID) string { return APIRequests + "/" + id.String() }

// APIWebhooks is the API's webhook endpoints, APIWebhook one of them.
const APIWebhooks = "/api/v1/webhooks"

func APIWebhook(id int64) string { return APIWebhooks + "/" + strconv.FormatInt(id, 10) }

// Webhook is an endpoint's page with its deliveries, WebhookAction one of
// its actions ("rotate", "delete"); WebhookDelivery a delivery's attempts,
// and Redeliver its action.
func Webhook(id int64) string                      { return Webhooks + "/" + strconv.FormatInt(id, 10) }
func WebhookAction(id int64, action string) string { return Webhook(id) + "/" + action }
func WebhookDelivery(id, delivery int64) string {
	return Webhook(id) + "/deliveries/" + strconv.FormatInt(delivery, 10)
}
func Redeliver(id, delivery int64) string { return WebhookDelivery(id, delivery) + "/redeliver" }
