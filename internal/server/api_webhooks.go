package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/paths"
)

// The API's webhook endpoints: the same account.Webhooks calls as the
// Webhooks page, so an endpoint a token may not see is a 404 here too.

type apiWebhookInput struct {
	URL string `json:"url"`
	// SmartAccountID, when set, makes an administrator's endpoint for that
	// account's access requests.
	SmartAccountID string   `json:"smart_account_id"`
	EventTypes     []string `json:"event_types"`
}

type apiWebhook struct {
	ID             int64      `json:"id"`
	URL            string     `json:"url"`
	SmartAccountID string     `json:"smart_account_id,omitempty"`
	EventTypes     []string   `json:"event_types"`
	CreatedAt      time.Time  `json:"created_at"`
	PreviousUntil  *time.Time `json:"previous_secret_valid_until,omitempty"`
	// Secret is in the answers that make it (create, rotate) only.
	Secret string      `json:"secret,omitempty"`
	Links  webhookLink `json:"links"`
}

type webhookLink struct {
	Self       string `json:"self"`
	Deliveries string `json:"deliveries"`
	Page       string `json:"page"`
}

type apiWebhookList struct {
	Items []apiWebhook `json:"items"`
}

type apiDelivery struct {
	ID          int64           `json:"id"`
	WebhookID   string          `json:"webhook_id"`
	EventType   string          `json:"event_type"`
	State       string          `json:"state"`
	Attempts    int             `json:"attempts"`
	CreatedAt   time.Time       `json:"created_at"`
	NextAttempt *time.Time      `json:"next_attempt_at,omitempty"`
	DeliveredAt *time.Time      `json:"delivered_at,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	History     []apiAttempt    `json:"attempt_history,omitempty"`
}

type apiAttempt struct {
	Attempt      int       `json:"attempt"`
	At           time.Time `json:"at"`
	StatusCode   int       `json:"status_code,omitempty"`
	Error        string    `json:"error,omitempty"`
	ResponseBody string    `json:"response_body,omitempty"`
	DurationMS   int64     `json:"duration_ms"`
}

type apiDeliveryList struct {
	Items []apiDelivery `json:"items"`
}

func apiWebhookOf(e account.WebhookEndpoint, now time.Time) apiWebhook {
	out := apiWebhook{ID: e.ID, URL: e.URL, CreatedAt: e.CreatedAt.UTC(), EventTypes: []string{},
		Links: webhookLink{Self: paths.APIWebhook(e.ID), Deliveries: paths.APIWebhook(e.ID) + "/deliveries", Page: paths.Webhook(e.ID)}}
	if e.Account != 0 {
		out.SmartAccountID = e.Account.String()
	}
	for _, t := range e.EventTypes {
		out.EventTypes = append(out.EventTypes, string(t))
	}
	if e.Rotating(now) {
		until := e.PreviousUntil.UTC()
		out.PreviousUntil = &until
	}
	return out
}

func apiDeliveryOf(d account.WebhookDelivery) apiDelivery {
	out := apiDelivery{ID: d.ID, WebhookID: d.WebhookID, EventType: string(d.EventType), State: string(d.State),
		Attempts: d.Attempts, CreatedAt: d.CreatedAt.UTC(), LastError: d.LastError}
	if d.State == account.WebhookPending {
		next := d.NextAttemptAt.UTC()
		out.NextAttempt = &next
	}
	if !d.DeliveredAt.IsZero() {
		at := d.DeliveredAt.UTC()
		out.DeliveredAt = &at
	}
	return out
}

func (s *Server) apiListWebhooks(w http.ResponseWriter, r *http.Request) error {
	es, err := s.webhooks.WebhookEndpoints(r.Context(), apiUser(r.Context()))
	if err != nil {
		return err
	}
	out := apiWebhookList{Items: []apiWebhook{}}
	now := s.accounts.Clock().Now()
	for _, e := range es {
		out.Items = append(out.Items, apiWebhookOf(e, now))
	}
	return s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) apiCreateWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in apiWebhookInput
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return &badJSONError{err: err}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &badJSONError{err: errors.New("more than one JSON value")}
	}
	e, err := s.webhooks.CreateWebhook(ctx, apiUser(ctx), account.WebhookInput{URL: in.URL, Account: in.SmartAccountID, EventTypes: in.EventTypes})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "webhook registered", "webhook", e.ID, "via", "api")
	out := apiWebhookOf(e, s.accounts.Clock().Now())
	out.Secret = e.Secret
	w.Header().Set("Location", out.Links.Self)
	return s.writeJSON(w, r, http.StatusCreated, out)
}

func (s *Server) apiGetWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	e, err := s.webhooks.WebhookEndpoint(r.Context(), apiUser(r.Context()), id)
	if err != nil {
		return err
	}
	return s.writeJSON(w, r, http.StatusOK, apiWebhookOf(e, s.accounts.Clock().Now()))
}

func (s *Server) apiDeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	if err := s.webhooks.DeleteWebhook(r.Context(), apiUser(r.Context()), id); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "webhook deleted", "webhook", id, "via", "api")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiRotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	secret, err := s.webhooks.RotateWebhookSecret(ctx, apiUser(ctx), id)
	if err != nil {
		return err
	}
	e, err := s.webhooks.WebhookEndpoint(ctx, apiUser(ctx), id)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "webhook secret rotated", "webhook", id, "via", "api")
	out := apiWebhookOf(e, s.accounts.Clock().Now())
	out.Secret = secret
	return s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) apiListDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	_, ds, err := s.webhooks.WebhookDeliveries(r.Context(), apiUser(r.Context()), id)
	if err != nil {
		return err
	}
	out := apiDeliveryList{Items: []apiDelivery{}}
	for _, d := range ds {
		out.Items = append(out.Items, apiDeliveryOf(d))
	}
	return s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) apiGetDelivery(w http.ResponseWriter, r *http.Request) error {
	id, delivery, err := deliveryParams(r)
	if err != nil {
		return err
	}
	_, d, attempts, err := s.webhooks.WebhookAttempts(r.Context(), apiUser(r.Context()), id, delivery)
	if err != nil {
		return err
	}
	out := apiDeliveryOf(d)
	out.Payload = json.RawMessage(d.Payload)
	out.History = []apiAttempt{}
	for _, a := range attempts {
		out.History = append(out.History, apiAttempt{Attempt: a.Attempt, At: a.At.UTC(), StatusCode: a.StatusCode,
			Error: a.Error, ResponseBody: a.ResponseBody, DurationMS: a.Duration.Milliseconds()})
	}
	return s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) apiRedeliver(w http.ResponseWriter, r *http.Request) error {
	id, delivery, err := deliveryParams(r)
	if err != nil {
		return err
	}
	if err := s.webhooks.Redeliver(r.Context(), apiUser(r.Context()), id, delivery); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "webhook redelivery", "webhook", id, "delivery", delivery, "via", "api")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
