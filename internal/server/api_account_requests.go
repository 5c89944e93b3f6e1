package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/paths"
)

// The API's account requests and search. Every answer is built from what
// account.Service returns, as the pages are.

// apiRequestInput is the body of POST /api/v1/account-requests: the fields of
// "Request a Smart Account for a Customer".
type apiRequestInput struct {
	Name           string   `json:"name"`
	Domain         string   `json:"domain"`
	NoteToApprover string   `json:"note_to_approver"`
	CustomerEmails []string `json:"customer_emails"`
	NoteToCustomer string   `json:"note_to_customer"`
	UserEmails     []string `json:"user_emails"`
	NoteToUsers    string   `json:"note_to_users"`
}

// apiRequest is an account request as the API shows it.
type apiRequest struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Domain         string        `json:"domain"`
	Status         string        `json:"status"`
	RequestedBy    string        `json:"requested_by"`
	CreatedAt      time.Time     `json:"created_at"`
	ExpiresAt      time.Time     `json:"expires_at"`
	NoteToApprover string        `json:"note_to_approver"`
	CustomerEmails []string      `json:"customer_emails"`
	NoteToCustomer string        `json:"note_to_customer"`
	UserEmails     []string      `json:"user_emails"`
	NoteToUsers    string        `json:"note_to_users"`
	DecidedBy      string        `json:"decided_by,omitempty"`
	DecidedAt      *time.Time    `json:"decided_at,omitempty"`
	DecisionReason string        `json:"decision_reason,omitempty"`
	Approvers      []apiApprover `json:"approvers"`
	// AwaitingReview are approver addresses outside the account's domain
	// that get no link until an operator allows them; UsersLeftOut the
	// User Emails the approver did not keep.
	AwaitingReview []string   `json:"awaiting_review"`
	UsersLeftOut   []string   `json:"users_left_out"`
	History        []apiEvent `json:"history,omitempty"`
	Links          apiLinks   `json:"links"`
}

// apiApprover is an address the request waits on; Delivery is shown to the
// partner who asked.
type apiApprover struct {
	Email    string `json:"email"`
	Delivery string `json:"delivery,omitempty"`
}

type apiEvent struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Detail string    `json:"detail"`
}

type apiLinks struct {
	Self string `json:"self"`
	Page string `json:"page"`
}

type apiRequestList struct {
	Items []apiRequest `json:"items"`
	Next  *string      `json:"next"`
}

type apiAccount struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Domain string       `json:"domain"`
	Status string       `json:"status"`
	Admins []apiContact `json:"admins"`
}

type apiContact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type apiAccountList struct {
	Items []apiAccount `json:"items"`
	Next  *string      `json:"next"`
}

func (s *Server) apiRequestOf(r account.AccountRequest, status account.RequestStatus) apiRequest {
	out := apiRequest{
		ID: r.Account.ID.String(), Name: r.Account.Name, Domain: r.Account.Domain, Status: string(status),
		RequestedBy: r.Requester, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
		NoteToApprover: r.NoteToApprover, CustomerEmails: nonNil(r.CustomerEmails), NoteToCustomer: r.NoteToCustomer,
		UserEmails: nonNil(r.UserEmails), NoteToUsers: r.NoteToUsers,
		DecidedBy: r.DecidedBy, DecisionReason: r.DecisionReason, Approvers: []apiApprover{},
		AwaitingReview: []string{}, UsersLeftOut: nonNil(r.UsersLeftOut),
		Links: apiLinks{Self: paths.APIRequest(r.Account.ID), Page: paths.RequestStatus(r.Account.ID)},
	}
	if status == account.RequestPending {
		out.AwaitingReview = nonNil(r.Held)
	}
	if !r.DecidedAt.IsZero() {
		at := r.DecidedAt.UTC()
		out.DecidedAt = &at
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// requestAnswer is the whole request as u may see it: status, approvers
// (with delivery for the partner who asked) and history.
func (s *Server) requestAnswer(r *http.Request, u account.User, id account.AccountID) (apiRequest, error) {
	ctx := r.Context()
	st, err := s.requests.RequestState(ctx, u, id)
	if err != nil {
		return apiRequest{}, err
	}
	out := s.apiRequestOf(st.Request, st.Status)
	if st.CanWithdraw {
		approvers, err := s.requests.Approvers(ctx, u, id)
		if err != nil {
			return apiRequest{}, err
		}
		for _, a := range approvers {
			out.Approvers = append(out.Approvers, apiApprover{Email: a.Email, Delivery: string(a.Delivery)})
		}
	} else {
		for _, e := range st.WaitingOn {
			out.Approvers = append(out.Approvers, apiApprover{Email: e})
		}
	}
	for _, e := range st.History {
		out.History = append(out.History, apiEvent{At: e.At.UTC(), Kind: e.Kind, Actor: e.Actor, Detail: eventDetail(ctx, e)})
	}
	return out, nil
}

// apiCreateRequest sends a request as the form's Submit Request does. With
// an Idempotency-Key, a retry answers 200 with the request the first call
// made.
func (s *Server) apiCreateRequest(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := apiUser(ctx)
	var in apiRequestInput
	// apiInput bounded and checked the body already.
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return &badJSONError{err: err}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &badJSONError{err: errors.New("more than one JSON value")}
	}
	req, created, err := s.requests.SubmitRequestOnce(ctx, u, r.Header.Get("Idempotency-Key"), account.AccountRequestInput{
		Name: in.Name, Domain: in.Domain, NoteToApprover: in.NoteToApprover,
		CustomerEmails: strings.Join(in.CustomerEmails, "\n"), NoteToCustomer: in.NoteToCustomer,
		UserEmails: strings.Join(in.UserEmails, "\n"), NoteToUsers: in.NoteToUsers,
	})
	if err != nil {
		return err
	}
	out, err := s.requestAnswer(r, u, req.Account.ID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.log.InfoContext(ctx, "account requested", "account", req.Account.ID.String(), "via", "api")
	}
	w.Header().Set("Location", out.Links.Self)
	return s.writeJSON(w, r, status, out)
}

func (s *Server) apiGetRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	out, err := s.requestAnswer(r, apiUser(r.Context()), id)
	if err != nil {
		return err
	}
	return s.writeJSON(w, r, http.StatusOK, out)
}

// apiListRequests pages the requests the token's user sent, newest first;
// next continues before the last one shown, so a request made meanwhile
// never shifts a page.
func (s *Server) apiListRequests(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	fe := account.FieldErrors{}
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > account.MaxAPIPageSize {
			fe.Add("limit", "api.error.limit", "Max", account.MaxAPIPageSize)
		}
		limit = n
	}
	var before account.AccountID
	if v := q.Get("before"); v != "" {
		id, err := account.ParseShownAccountID(v)
		if err != nil {
			fe.Add("before", "api.error.before")
		}
		before = id
	}
	if err := fe.Err(); err != nil {
		return err
	}
	rs, next, err := s.requests.MyRequests(ctx, apiUser(ctx), before, limit)
	if err != nil {
		return err
	}
	out := apiRequestList{Items: []apiRequest{}}
	for _, req := range rs {
		out.Items = append(out.Items, s.apiRequestOf(req, req.Status))
	}
	if next != 0 {
		n := paths.APIRequests + "?" + url.Values{"before": {next.String()}, "limit": {strconv.Itoa(limit)}}.Encode()
		out.Next = &n
	}
	return s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) apiWithdrawRequest(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := apiUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	if _, err := s.requests.Withdraw(ctx, u, id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "request withdrawn", "account", id.String(), "via", "api")
	out, err := s.requestAnswer(r, u, id)
	if err != nil {
		return err
	}
	return s.writeJSON(w, r, http.StatusOK, out)
}

// apiSearchAccounts is "Search Smart Accounts": the same rules, restricted
// accounts found only by their entire name or domain.
func (s *Server) apiSearchAccounts(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > account.MaxSearchPage {
			return account.FieldErrors{"page": {Msg: "api.error.page", Args: []any{"Max", account.MaxSearchPage}}}
		}
		page = n
	}
	res, err := s.listings.Search(ctx, apiUser(ctx), q.Get("q"), page)
	switch {
	case errors.Is(err, account.ErrQueryTooShort):
		return account.FieldErrors{"q": {Msg: "api.error.query_short", Args: []any{"Min", account.MinQueryLength}}}
	case errors.Is(err, account.ErrQueryTooLong):
		return account.FieldErrors{"q": {Msg: "api.error.query_long", Args: []any{"Max", account.MaxFilterLength}}}
	case err != nil:
		return err
	}
	out := apiAccountList{Items: []apiAccount{}}
	for _, l := range res.Items {
		a := apiAccount{ID: l.Account.ID.String(), Name: l.Account.Name, Domain: l.Account.Domain,
			Status: string(l.Account.Status), Admins: []apiContact{}}
		for _, c := range l.Admins {
			a.Admins = append(a.Admins, apiContact{Name: c.Name, Email: c.Email})
		}
		out.Items = append(out.Items, a)
	}
	if res.HasNext {
		n := paths.APISmartAccounts + "?" + url.Values{"q": {q.Get("q")}, "page": {strconv.Itoa(page + 1)}}.Encode()
		out.Next = &n
	}
	return s.writeJSON(w, r, http.StatusOK, out)
}
