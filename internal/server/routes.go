package server

import (
	"io/fs"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/clc-portal/clc/web"
)

// routes is the whole route table.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestID, s.accessLog, s.instrument, s.recoverer, s.warnUntrustedForwarding, securityHeaders(s.baseURL.Scheme == "https"), s.crossOriginProtection)

	static, _ := fs.Sub(web.Static, "static")
	r.Get("/static/*", s.staticFiles(static))
	r.Head("/static/*", s.staticFiles(static))
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)

	// The JSON API is outside the session group: a bearer token is its
	// only credential.
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.apiLanguage)
		r.NotFound(s.api(s.apiNotFound))
		r.MethodNotAllowed(s.apiMethodNotAllowed)
		r.Get("/openapi.json", s.openAPI)
		r.Group(func(r chi.Router) {
			// Bodies are read only for a known token; a request is
			// admitted before its token is looked up.
			r.Use(s.admit(s.problem), s.apiAuth, s.apiInput)
			r.Post("/account-requests", s.api(s.apiCreateRequest))
			r.Get("/account-requests", s.api(s.apiListRequests))
			r.Get("/account-requests/{accountID}", s.api(s.apiGetRequest))
			r.Post("/account-requests/{accountID}/withdraw", s.api(s.apiWithdrawRequest))
			r.Get("/smart-accounts", s.api(s.apiSearchAccounts))
			r.Get("/webhooks", s.api(s.apiListWebhooks))
			r.Post("/webhooks", s.api(s.apiCreateWebhook))
			r.Get("/webhooks/{id}", s.api(s.apiGetWebhook))
			r.Delete("/webhooks/{id}", s.api(s.apiDeleteWebhook))
			r.Post("/webhooks/{id}/rotate-secret", s.api(s.apiRotateWebhookSecret))
			r.Get("/webhooks/{id}/deliveries", s.api(s.apiListDeliveries))
			r.Get("/webhooks/{id}/deliveries/{delivery}", s.api(s.apiGetDelivery))
			r.Post("/webhooks/{id}/deliveries/{delivery}/redeliver", s.api(s.apiRedeliver))
			r.Get("/account-requests/{accountID}/events", s.api(s.apiEventLog(apiRequestLogTarget)))
			r.Get("/events", s.api(s.apiEventLog(apiPortalLogTarget)))
		})
	})

	// Everything below has a session and a language, once admitted.
	r.Group(func(r chi.Router) {
		r.Use(s.admit(s.respondError), s.openSession, s.sessions.LoadAndSave, s.loadUser, s.readYourWrites, s.language, s.formInput)
		r.NotFound(s.h(s.notFound))
		r.MethodNotAllowed(s.h(s.methodNotAllowed))

		r.Get("/", s.h(s.home))
		r.Get("/login", s.h(s.loginForm))
		r.Post("/login", s.h(s.login))
		r.Post("/logout", s.h(s.logout))
		// Single sign-on through the OpenID provider: the button posts, the
		// provider sends the browser back to the callback.
		r.Post("/login/sso", s.h(s.ssoBegin))
		r.Get("/login/sso/callback", s.h(s.ssoCallback))
		r.Get("/logout/sso", s.h(s.ssoLoggedOut))
		r.Post("/language", s.h(s.setLanguage))
		// Two-factor sign-in: the code after the password, and setting up
		// an authenticator, which staff must do before they are signed in.
		r.Get("/login/code", s.h(s.secondFactorForm))
		r.Post("/login/code", s.h(s.secondFactor))
		r.Get("/two-factor/setup", s.h(s.twoFactorSetupForm))
		r.Post("/two-factor/setup", s.h(s.twoFactorSetup))
		r.Get("/two-factor/qr.png", s.h(s.twoFactorQR))
		r.Get("/two-factor/recovery-codes", s.h(s.recoveryCodes))

		// An emailed link is its own credential: no sign-in. HEAD is a GET
		// without the body, for the mail scanners that probe links.
		r.Group(func(r chi.Router) {
			r.Use(noIndex)
			r.Get("/pending/{token}", s.h(s.pendingPage))
			r.Head("/pending/{token}", s.h(s.pendingPage))
			r.Post("/pending/{token}/approve", s.h(s.approve))
			r.Get("/pending/{token}/deny", s.h(s.denyPage))
			r.Post("/pending/{token}/deny", s.h(s.deny))
			r.Get("/pending/{token}/forward", s.h(s.forwardPage))
			r.Post("/pending/{token}/forward", s.h(s.forward))
			r.Post("/pending/{token}/messages", s.h(s.approverMessage))
			r.Post("/pending/{token}/seen", s.h(s.pendingSeen))
			r.Get("/set-password/{token}", s.h(s.setPasswordForm))
			r.Head("/set-password/{token}", s.h(s.setPasswordForm))
			r.Post("/set-password/{token}", s.h(s.setPassword))
		})

		r.Group(func(r chi.Router) {
			r.Use(s.requireUser)
			r.Get("/clc", s.h(s.clcHome))
			r.Get("/settings/two-factor", s.h(s.twoFactorSettings))
			r.Post("/settings/two-factor/disable", s.h(s.disableTwoFactor))
			r.Get("/clc/accounts/new", s.h(s.newRequest))
			r.Post("/clc/accounts/new", s.h(s.requestStep))
			r.Post("/clc/accounts/new/submit", s.h(s.submitRequest))
			r.Get("/clc/requests/{accountID}", s.h(s.requestStatus))
			r.Post("/clc/requests/{accountID}/withdraw", s.h(s.withdrawRequest))
			r.Get("/clc/requests/{accountID}/renew", s.h(s.renewRequest))
			r.Post("/clc/requests/{accountID}/resend", s.h(s.resendApproval))
			r.Post("/clc/requests/{accountID}/approvers", s.h(s.changeApprovers))
			r.Post("/clc/requests/{accountID}/messages", s.h(s.requestMessage))
			r.Get("/clc/requests/{accountID}/events", s.h(s.eventLog(requestLogTarget)))
			r.Get("/clc/requests/{accountID}/events.csv", s.h(s.eventLogExport(requestLogTarget)))
			r.Get("/clc/api-tokens", s.h(s.apiTokens))
			r.Post("/clc/api-tokens", s.h(s.createAPIToken))
			r.Post("/clc/api-tokens/{id}/revoke", s.h(s.revokeAPIToken))
			r.Get("/clc/webhooks", s.h(s.webhooksPage))
			r.Post("/clc/webhooks", s.h(s.createWebhook))
			r.Get("/clc/webhooks/{id}", s.h(s.webhookPage))
			r.Post("/clc/webhooks/{id}/rotate", s.h(s.rotateWebhookSecret))
			r.Post("/clc/webhooks/{id}/delete", s.h(s.deleteWebhook))
			r.Get("/clc/webhooks/{id}/deliveries/{delivery}", s.h(s.webhookDeliveryPage))
			r.Post("/clc/webhooks/{id}/deliveries/{delivery}/redeliver", s.h(s.redeliver))

			r.Get("/ops/requests", s.h(s.opsRequests))
			r.Post("/ops/requests/{accountID}/approve", s.h(s.opsApprove))
			r.Post("/ops/requests/{accountID}/deny", s.h(s.opsDeny))
			r.Post("/ops/requests/{accountID}/allow", s.h(s.opsAllow))
			r.Post("/ops/requests/{accountID}/assign", s.h(s.opsAssign))
			r.Get("/ops/emails", s.h(s.emails))
			r.Post("/ops/emails/{id}/retry", s.h(s.retryEmail))
			r.Get("/ops/sso", s.h(s.ssoDomains))
			r.Post("/ops/sso", s.h(s.requireSSO))
			r.Post("/ops/sso/release", s.h(s.releaseSSO))
			r.Get("/ops/events", s.h(s.eventLog(portalLogTarget)))
			r.Get("/ops/events.csv", s.h(s.eventLogExport(portalLogTarget)))
			r.Get("/clc/directory", s.h(s.directory))
			r.Get("/clc/directory/{section}", s.h(s.directorySectionPage))
			r.Get("/clc/search", s.h(s.search))
			r.Get("/clc/accounts/{accountID}", s.h(s.accountPage))
			r.Get("/clc/accounts/{accountID}/request-access", s.h(s.requestAccessForm))
			r.Get("/clc/accounts/{accountID}/events", s.h(s.eventLog(accountLogTarget)))
			r.Get("/clc/accounts/{accountID}/events.csv", s.h(s.eventLogExport(accountLogTarget)))
			r.Post("/clc/accounts/{accountID}/request-access", s.h(s.requestAccess))

			// Account Management: a Smart Account Administrator's own (one
			// access request also opens for the user who asked, to follow it
			// and write in its conversation).
			r.Get("/clc/manage", s.h(s.manage))
			r.Get("/clc/manage/access-requests", s.h(s.allAccessRequests))
			r.Get("/clc/accounts/{accountID}/access-requests", s.h(s.accountAccessRequests))
			r.Post("/clc/accounts/{accountID}/access-requests/bulk", s.h(s.bulkDecide))
			r.Get("/clc/accounts/{accountID}/access-requests/{request}", s.h(s.accessRequestPage))
			r.Post("/clc/accounts/{accountID}/access-requests/{request}/approve", s.h(s.decideAccess(true)))
			r.Post("/clc/accounts/{accountID}/access-requests/{request}/decline", s.h(s.decideAccess(false)))
			r.Post("/clc/accounts/{accountID}/access-requests/{request}/messages", s.h(s.accessRequestMessage))
			r.Get("/clc/accounts/{accountID}/users", s.h(s.accountUsers))
			r.Post("/clc/accounts/{accountID}/users", s.h(s.addAccountUser))
			r.Post("/clc/accounts/{accountID}/users/role", s.h(s.changeUserRole))
			r.Post("/clc/accounts/{accountID}/users/remove", s.h(s.removeUserRole))
			r.Get("/clc/accounts/{accountID}/users/import.csv", s.h(s.usersImportTemplate))
			r.Post(usersImportRoute, s.h(s.importUsers))
			r.Get("/clc/accounts/{accountID}/users/import/{import}", s.h(s.usersImportPreview))
			r.Post("/clc/accounts/{accountID}/users/import/{import}/apply", s.h(s.applyUsersImport))
			r.Post("/clc/accounts/{accountID}/virtual-accounts", s.h(s.createVirtualAccount))
			r.Post("/clc/accounts/{accountID}/virtual-accounts/{vaID}/rename", s.h(s.renameVirtualAccount))
			r.Post("/clc/accounts/{accountID}/virtual-accounts/{vaID}/delete", s.h(s.deleteVirtualAccount))
			r.Get("/clc/accounts/{accountID}/automation", s.h(s.automation))
			r.Post("/clc/accounts/{accountID}/automation", s.h(s.saveAutomation))
		})
	})
	return r
}
