package server

import (
	"context"
	"strings"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
)

// eventDetail writes what an event recorded in the viewer's language; the
// history keeps only codes and parameters.
func eventDetail(ctx context.Context, e account.Event) string {
	p := e.Params
	if p.Text != "" {
		return p.Text
	}
	switch e.Kind {
	case "requested":
		if p.Renews != "" {
			return i18n.T(ctx, "event.detail.renews", "ID", p.Renews)
		}
		if len(p.Held) > 0 {
			return i18n.T(ctx, "event.detail.approvers_held", "Emails", strings.Join(p.Approvers, ", "), "Held", strings.Join(p.Held, ", "))
		}
		if len(p.Approvers) > 0 {
			return i18n.T(ctx, "event.detail.approvers", "Emails", strings.Join(p.Approvers, ", "))
		}
	case "approver_allowed", "approvers_assigned":
		return i18n.T(ctx, "event.detail.to", "Emails", strings.Join(p.To, ", "))
	case "approved":
		if len(p.LeftOut) > 0 {
			return i18n.T(ctx, "event.detail.left_out", "Emails", strings.Join(p.LeftOut, ", "))
		}
	case "emailed", "email_retried":
		if p.Email != "" {
			return i18n.T(ctx, "event.detail.emailed", "Email", i18n.T(ctx, "email.kind."+string(p.Email)), "To", strings.Join(p.To, ", "))
		}
	case "forwarded", "reminded", "resent":
		if len(p.To) > 0 {
			return i18n.T(ctx, "event.detail.to", "Emails", strings.Join(p.To, ", "))
		}
	case "access_granted":
		if p.User != "" {
			return i18n.T(ctx, "event.detail.access_granted", "User", p.User, "Role", roleOn(ctx, p.Role, p.VirtualAccount))
		}
	case "access_requested":
		if p.Role != "" {
			// Before a request could name several Virtual Accounts it named one.
			return roleOn(ctx, p.Role, append([]string{p.VirtualAccount}, p.VirtualAccounts...)...)
		}
	case "access_approved":
		if p.User != "" {
			return i18n.T(ctx, "event.detail.access_granted", "User", p.User, "Role", roleOn(ctx, p.Role, p.VirtualAccounts...))
		}
	case "access_changed":
		if p.User != "" {
			return i18n.T(ctx, "event.detail.access_granted", "User", p.User, "Role", roleOn(ctx, p.Role, p.VirtualAccount))
		}
	case "access_declined":
		if p.User != "" && p.Reason != "" {
			return i18n.T(ctx, "event.detail.access_declined", "User", p.User, "Reason", p.Reason)
		}
		return p.User
	case "access_removed":
		if p.VirtualAccount != "" {
			return i18n.T(ctx, "event.detail.access_removed_va", "User", p.User, "VirtualAccount", p.VirtualAccount)
		}
		return p.User
	case "automation_changed":
		if p.SameDomain != "" {
			same := i18n.T(ctx, "automation.rule."+p.SameDomain)
			if p.SameDomain == account.RuleApprove {
				same = i18n.T(ctx, "event.detail.automation_approve", "Role", roleOn(ctx, p.Role, p.VirtualAccount))
			}
			return i18n.T(ctx, "event.detail.automation_changed", "Same", same, "Other", i18n.T(ctx, "automation.rule."+p.OtherDomain))
		}
	case "approvers_changed":
		added, removed := strings.Join(p.Added, ", "), strings.Join(p.Removed, ", ")
		if len(p.Held) > 0 {
			return i18n.T(ctx, "event.detail.changed_held", "Added", orDash(added), "Removed", orDash(removed), "Held", strings.Join(p.Held, ", "))
		}
		switch {
		case added != "" && removed != "":
			return i18n.T(ctx, "event.detail.added_removed", "Added", added, "Removed", removed)
		case added != "":
			return i18n.T(ctx, "event.detail.added", "Emails", added)
		case removed != "":
			return i18n.T(ctx, "event.detail.removed", "Emails", removed)
		}
	case "renewed":
		return i18n.T(ctx, "event.detail.renewed_as", "ID", p.RenewedAs)
	case "virtual_account_created", "virtual_account_deleted":
		return p.VirtualAccount
	case "virtual_account_renamed":
		return i18n.T(ctx, "event.detail.va_renamed", "Old", p.OldName, "New", p.VirtualAccount)
	case "message", "access_message":
		return p.Message
	case account.StepNotOpened, account.StepNoResponse:
		return i18n.T(ctx, "event.detail.to", "Emails", strings.Join(p.To, ", "))
	case "api_token_created", "api_token_revoked":
		return p.Name
	case "webhook_created", "webhook_secret_rotated", "webhook_deleted", "webhook_redelivered":
		return p.URL
	case "sso_domain_required", "sso_domain_released":
		return account.DisplayDomain(p.Domain)
	case "language_changed":
		return languageName(ctx, p.Language)
	}
	// A reason is the approver's own words, shown as written.
	return p.Reason
}

// renewalLink is the page of the other request a "requested" or "renewed"
// event names, or "".
func renewalLink(e account.Event) string {
	shown := e.Params.Renews
	if e.Kind == "renewed" {
		shown = e.Params.RenewedAs
	}
	if shown == "" || (e.Kind != "requested" && e.Kind != "renewed") {
		return ""
	}
	id, err := account.ParseShownAccountID(shown)
	if err != nil {
		return ""
	}
	return paths.RequestStatus(id)
}

// roleOn names a role, on the Virtual Accounts vas names (empty names
// left out), or alone when they name none.
func roleOn(ctx context.Context, role account.Role, vas ...string) string {
	words := i18n.T(ctx, "role."+string(role))
	named := make([]string, 0, len(vas))
	for _, va := range vas {
		if va != "" {
			named = append(named, va)
		}
	}
	if len(named) > 0 {
		words = i18n.T(ctx, "access.role_on_va", "Role", words, "VirtualAccount", strings.Join(named, ", "))
	}
	return words
}
