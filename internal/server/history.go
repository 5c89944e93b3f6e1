package server

import (
	"context"
	"strings"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
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
		if len(p.Approvers) > 0 {
			return i18n.T(ctx, "event.detail.approvers", "Emails", strings.Join(p.Approvers, ", "))
		}
	case "emailed":
		if p.Email != "" {
			return i18n.T(ctx, "event.detail.emailed", "Email", i18n.T(ctx, "email.kind."+string(p.Email)), "To", strings.Join(p.To, ", "))
		}
	case "forwarded", "reminded":
		if len(p.To) > 0 {
			return i18n.T(ctx, "event.detail.to", "Emails", strings.Join(p.To, ", "))
		}
	case "access_granted":
		if p.User != "" {
			return i18n.T(ctx, "event.detail.access_granted", "User", p.User, "Role", roleOn(ctx, p.Role, p.VirtualAccount))
		}
	case "access_requested":
		if p.Role != "" {
			return roleOn(ctx, p.Role, p.VirtualAccount)
		}
	case "virtual_account_created":
		return p.VirtualAccount
	}
	// A reason is the approver's own words, shown as written.
	return p.Reason
}

// roleOn names a role, on a Virtual Account when va is set.
func roleOn(ctx context.Context, role account.Role, va string) string {
	words := i18n.T(ctx, "role."+string(role))
	if va != "" {
		words = i18n.T(ctx, "access.role_on_va", "Role", words, "VirtualAccount", va)
	}
	return words
}
