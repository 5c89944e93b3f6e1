package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// "Webhooks": a partner registers endpoints for their account requests, an
// administrator for an account's access requests; each endpoint's page lists
// its deliveries, each delivery's page its attempts with "Redeliver". Who
// may see an endpoint is account.Webhooks' to say: another's id is a 404. A
// secret is shown in the answer to the POST that made it, never through a
// flash kept in the session store.

func (s *Server) webhooksPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderWebhooks(w, r, http.StatusOK, account.WebhookInput{}, nil, "", "")
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	in := account.WebhookInput{URL: r.PostFormValue("url"), Account: r.PostFormValue("account"), EventTypes: r.PostForm["event_types"]}
	e, err := s.webhooks.CreateWebhook(ctx, u, in)
	var fe account.FieldErrors
	switch {
	case errors.As(err, &fe):
		return s.renderWebhooks(w, r, http.StatusUnprocessableEntity, in, fe, "", "")
	case err != nil:
		return err
	}
	s.log.InfoContext(ctx, "webhook registered", "webhook", e.ID)
	return s.renderWebhooks(w, r, http.StatusCreated, account.WebhookInput{}, nil, e.URL, e.Secret)
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	secret, err := s.webhooks.RotateWebhookSecret(ctx, u, id)
	if err != nil {
		return err
	}
	e, err := s.webhooks.WebhookEndpoint(ctx, u, id)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "webhook secret rotated", "webhook", id)
	return s.renderWebhooks(w, r, http.StatusOK, account.WebhookInput{}, nil, e.URL, secret)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	if err := s.webhooks.DeleteWebhook(ctx, u, id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "webhook deleted", "webhook", id)
	s.flash(r, i18n.T(ctx, "webhooks.deleted"))
	return redirect(w, r, paths.Webhooks)
}

func (s *Server) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, in account.WebhookInput, fe account.FieldErrors, newURL, secret string) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	es, err := s.webhooks.WebhookEndpoints(ctx, u)
	if err != nil {
		return err
	}
	managed, err := s.access.ManagedAccounts(ctx, u)
	if err != nil {
		return err
	}
	v := pages.WebhooksView{
		Page:      layout.Page{Title: i18n.T(ctx, "webhooks.title"), Shell: s.shell(r, layout.NavWebhooks), Flash: s.popFlash(r)},
		NewSecret: secret, NewURL: newURL,
		URL: components.Field{ID: "url", Label: i18n.T(ctx, "webhooks.url"), Value: in.URL, Type: "url",
			Required: true, MaxLength: account.MaxWebhookURLLength, Hint: i18n.T(ctx, "webhooks.url_hint")},
		Account: components.Field{ID: "account", Label: i18n.T(ctx, "webhooks.scope"), Value: in.Account, Type: "select",
			Options: []components.Choice{{Value: "", Label: i18n.T(ctx, "webhooks.scope_requests")}}},
		TypesLegend: i18n.T(ctx, "webhooks.types"),
		TypesError:  fieldError(r, fe, "event_types"),
	}
	v.URL.Error = fieldError(r, fe, "url")
	v.Account.Error = fieldError(r, fe, "account")
	for _, m := range managed {
		v.Account.Options = append(v.Account.Options, components.Choice{Value: m.Account.ID.String(),
			Label: i18n.T(ctx, "webhooks.scope_account", "Name", m.Account.Name, "ID", m.Account.ID.String())})
	}
	chosen := map[string]bool{}
	for _, t := range in.EventTypes {
		chosen[t] = true
	}
	_, types := account.WebhookEventKinds()
	for _, t := range types {
		v.Types = append(v.Types, pages.WebhookTypeChoice{Value: string(t), Label: webhookTypeLabel(r, t), Checked: chosen[string(t)]})
	}
	for _, e := range es {
		v.Rows = append(v.Rows, pages.WebhookRow{ID: e.ID, URL: e.URL, Scope: webhookScope(r, e),
			Types: len(e.EventTypes), Created: i18n.DateTime(ctx, e.CreatedAt)})
	}
	s.render(w, r, status, pages.Webhooks(v))
	return nil
}

func webhookTypeLabel(r *http.Request, t account.WebhookEventType) string {
	return i18n.T(r.Context(), "webhooks.type."+string(t))
}

func webhookScope(r *http.Request, e account.WebhookEndpoint) string {
	if e.Account == 0 {
		return i18n.T(r.Context(), "webhooks.scope_requests")
	}
	return i18n.T(r.Context(), "webhooks.scope_access", "ID", e.Account.String())
}

func (s *Server) webhookPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	e, ds, err := s.webhooks.WebhookDeliveries(ctx, u, id)
	if err != nil {
		return err
	}
	v := pages.WebhookView{
		Page: layout.Page{Title: i18n.T(ctx, "webhooks.endpoint_title"), Shell: s.shell(r, layout.NavWebhooks), Flash: s.popFlash(r)},
		ID:   e.ID, URL: e.URL, Scope: webhookScope(r, e),
	}
	for _, t := range e.EventTypes {
		v.Types = append(v.Types, webhookTypeLabel(r, t))
	}
	if now := s.accounts.Clock().Now(); e.Rotating(now) {
		v.Rotating = i18n.DateTime(ctx, e.PreviousUntil)
	}
	for _, d := range ds {
		v.Rows = append(v.Rows, pages.DeliveryRow{ID: d.ID, WebhookID: d.WebhookID, Type: webhookTypeLabel(r, d.EventType),
			State: i18n.T(ctx, "webhooks.state."+string(d.State)), Attempts: d.Attempts, Created: i18n.DateTime(ctx, d.CreatedAt),
			Link: paths.WebhookDelivery(e.ID, d.ID)})
	}
	s.render(w, r, http.StatusOK, pages.Webhook(v))
	return nil
}

// deliveryParams is a route's webhook endpoint {id} and its {delivery}.
func deliveryParams(r *http.Request) (endpoint, delivery int64, err error) {
	if endpoint, err = idParam(r, "id"); err != nil {
		return 0, 0, err
	}
	delivery, err = idParam(r, "delivery")
	return endpoint, delivery, err
}

func (s *Server) webhookDeliveryPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, delivery, err := deliveryParams(r)
	if err != nil {
		return err
	}
	e, d, attempts, err := s.webhooks.WebhookAttempts(ctx, u, id, delivery)
	if err != nil {
		return err
	}
	v := pages.WebhookDeliveryView{
		Page:       layout.Page{Title: i18n.T(ctx, "webhooks.delivery_title"), Shell: s.shell(r, layout.NavWebhooks), Flash: s.popFlash(r)},
		EndpointID: e.ID, EndpointURL: e.URL, DeliveryID: d.ID, WebhookID: d.WebhookID,
		Type: webhookTypeLabel(r, d.EventType), State: i18n.T(ctx, "webhooks.state."+string(d.State)),
		Payload:      d.Payload,
		CanRedeliver: d.State == account.WebhookDelivered || d.State == account.WebhookFailed,
	}
	for _, a := range attempts {
		row := pages.AttemptRow{N: a.Attempt, At: i18n.DateTime(ctx, a.At), Error: a.Error, Body: a.ResponseBody,
			Duration: strconv.FormatInt(a.Duration.Milliseconds(), 10) + " ms"}
		if a.StatusCode != 0 {
			row.Status = strconv.Itoa(a.StatusCode)
		}
		v.Attempts = append(v.Attempts, row)
	}
	s.render(w, r, http.StatusOK, pages.WebhookDelivery(v))
	return nil
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, delivery, err := deliveryParams(r)
	if err != nil {
		return err
	}
	if err := s.webhooks.Redeliver(ctx, u, id, delivery); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "webhook redelivery", "webhook", id, "delivery", delivery)
	s.flash(r, i18n.T(ctx, "webhooks.redelivered"))
	return redirect(w, r, paths.WebhookDelivery(id, delivery))
}
