package server

import (
	"errors"
	"net/http"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// "API tokens": a user makes personal tokens for the JSON API and revokes
// them. A new token's secret is shown in the answer to the POST that made
// it, not through a redirect and a flash: the flash lives in the session
// store, and the secret must be kept nowhere but in its hash.

func (s *Server) apiTokens(w http.ResponseWriter, r *http.Request) error {
	return s.renderAPITokens(w, r, http.StatusOK, "", nil, "", "")
}

func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	name := r.PostFormValue("name")
	t, secret, err := s.tokens.CreateAPIToken(ctx, u, name)
	var fe account.FieldErrors
	var quota *account.APITokenQuotaError
	switch {
	case errors.As(err, &quota):
		// Many tokens in a day is what a stolen session minting its own
		// credentials looks like.
		s.log.WarnContext(ctx, "API token refused: daily limit", "max", quota.Max)
		return s.renderAPITokens(w, r, http.StatusTooManyRequests, name, quota.Fields(), "", "")
	case errors.As(err, &fe):
		return s.renderAPITokens(w, r, http.StatusUnprocessableEntity, name, fe, "", "")
	case err != nil:
		return err
	}
	s.log.InfoContext(ctx, "API token created", "token_id", t.ID)
	return s.renderAPITokens(w, r, http.StatusCreated, "", nil, t.Name, secret)
}

func (s *Server) revokeAPIToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	if err := s.tokens.RevokeAPIToken(ctx, u, id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "API token revoked", "token_id", id)
	s.flash(r, i18n.T(ctx, "tokens.revoked"))
	return redirect(w, r, paths.APITokens)
}

func (s *Server) renderAPITokens(w http.ResponseWriter, r *http.Request, status int, name string, fe account.FieldErrors, newName, secret string) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	tokens, err := s.tokens.APITokens(ctx, u)
	if err != nil {
		return err
	}
	v := pages.APITokensView{
		Page:      layout.Page{Title: i18n.T(ctx, "tokens.title"), Shell: s.shell(r, layout.NavAPITokens), Flash: s.popFlash(r)},
		NewSecret: secret, NewName: newName,
		Name: components.Field{ID: "name", Label: i18n.T(ctx, "tokens.name"), Value: name, Type: "text",
			Required: true, MaxLength: account.MaxNameLength, Hint: i18n.T(ctx, "tokens.name_hint")},
	}
	v.Name.Error = fieldError(r, fe, "name")
	never := i18n.T(ctx, "tokens.never_used")
	for _, t := range tokens {
		row := pages.APITokenRow{ID: t.ID, Name: t.Name, Created: i18n.DateTime(ctx, t.CreatedAt), LastUsed: never}
		if !t.LastUsedAt.IsZero() {
			row.LastUsed = i18n.DateTime(ctx, t.LastUsedAt)
		}
		if !t.RevokedAt.IsZero() {
			row.Revoked = i18n.DateTime(ctx, t.RevokedAt)
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, status, pages.APITokens(v))
	return nil
}
