package server

import (
	"net/http"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
)

// fieldError is one field's message from FieldErrors, in the request's
// language, with the link its offer names: the one way every form shows
// what the domain found wrong.
func fieldError(r *http.Request, fe account.FieldErrors, field string) *components.FieldMessage {
	e, ok := fe[field]
	if !ok {
		return nil
	}
	ctx := r.Context()
	out := &components.FieldMessage{Text: i18n.T(ctx, e.Msg, e.Args...)}
	switch e.Offer {
	case account.OfferSearch:
		out.LinkHref, out.LinkText = paths.Search, i18n.T(ctx, "request.error.domain_taken_link")
	case account.OfferRequestAccess:
		out.LinkHref, out.LinkText = paths.AccountPart(e.Account, "request-access"), i18n.T(ctx, "request.error.domain_taken_link")
	}
	return out
}

// fieldMessages is each field's message, for the views that show them by
// name; built by fieldError, so the words are the same.
func fieldMessages(r *http.Request, fe account.FieldErrors) map[string]string {
	out := map[string]string{}
	for field := range fe {
		out[field] = fieldError(r, fe, field).Text
	}
	return out
}
