package server

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// eventLogTarget is which log a URL names: its view, its account, and the
// paths of its page and export.
type eventLogTarget struct {
	view         account.EventLogView
	id           account.AccountID
	page, export string
}

func accountLogTarget(r *http.Request) (eventLogTarget, error) {
	id, err := accountParam(r)
	if err != nil {
		return eventLogTarget{}, err
	}
	return eventLogTarget{account.AccountEventLog, id, paths.AccountEvents(id), paths.AccountEventsExport(id)}, nil
}

func requestLogTarget(r *http.Request) (eventLogTarget, error) {
	id, err := accountParam(r)
	if err != nil {
		return eventLogTarget{}, err
	}
	return eventLogTarget{account.RequestEventLog, id, paths.RequestEvents(id), paths.RequestEventsExport(id)}, nil
}

func portalLogTarget(*http.Request) (eventLogTarget, error) {
	return eventLogTarget{account.PortalEventLog, 0, paths.OpsEvents, paths.OpsEventsExport}, nil
}

// eventFilterOf reads the log's filter from the query string: dates as
// YYYY-MM-DD (UTC days), a kind, an actor's address.
func eventFilterOf(q url.Values) (account.EventFilter, account.EventCursor, account.FieldErrors) {
	errs := account.FieldErrors{}
	var f account.EventFilter
	for _, d := range []struct {
		name string
		to   *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := strings.TrimSpace(q.Get(d.name)); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				errs[d.name] = account.FieldError{Msg: "eventlog.error.date"}
			}
			*d.to = t
		}
	}
	f.Kind = q.Get("kind")
	f.Actor = strings.TrimSpace(q.Get("actor"))
	for k, v := range account.CheckEventFilter(f) {
		errs[k] = v
	}
	cursor, err := account.ParseEventCursor(q.Get("cursor"))
	if fe := (account.FieldErrors{}); errors.As(err, &fe) {
		for k, v := range fe {
			errs[k] = v
		}
	}
	if len(errs) > 0 {
		return f, cursor, errs
	}
	return f, cursor, nil
}

// eventLog is a log's page: 50 events, newest first, with the filter and
// a link to the next page and to the export of everything filtered.
func (s *Server) eventLog(target func(*http.Request) (eventLogTarget, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		u, _ := currentUser(ctx)
		t, err := target(r)
		if err != nil {
			return err
		}
		sc, err := s.events.Scope(ctx, u, t.view, t.id)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		f, cursor, errs := eventFilterOf(q)
		nav := layout.NavDirectory
		if t.view == account.PortalEventLog {
			nav = layout.NavEventLog
		}
		v := pages.EventLogView{
			Page:       layout.Page{Title: i18n.T(ctx, "eventlog.title"), Shell: s.shell(r, nav)},
			Intro:      i18n.T(ctx, eventLogIntro[t.view]),
			Action:     t.page,
			ShowClient: sc.ShowClient(),
			ShowAcct:   t.view == account.PortalEventLog,
			Filter:     s.eventFilterFields(r, q, errs),
		}
		if t.id != 0 {
			v.Subject = t.id.String()
		}
		if errs["cursor"].Msg != "" {
			v.Error = fieldError(r, errs, "cursor").Text
		}
		status := http.StatusOK
		if errs != nil {
			status = http.StatusUnprocessableEntity
		} else {
			p, err := s.events.Page(ctx, sc, f, cursor)
			if err != nil {
				return err
			}
			filter := filterQuery(q)
			v.Export = t.export + filter.query("")
			if cursor.ID != 0 {
				v.First = t.page + filter.query("")
			}
			if p.Next.ID != 0 {
				v.Next = t.page + filter.query(p.Next.String())
			}
			for _, e := range p.Events {
				row := pages.EventLogRow{At: i18n.DateTime(ctx, e.At), ISO: e.At.UTC().Format(time.RFC3339), Kind: e.Kind,
					What: i18n.T(ctx, "event."+e.Kind), Actor: e.Actor, Detail: eventDetail(ctx, e), Client: e.Client}
				if e.AccountID != 0 {
					row.Account = e.AccountID.String()
				}
				v.Rows = append(v.Rows, row)
			}
		}
		s.render(w, r, status, pages.EventLog(v))
		return nil
	}
}

var eventLogIntro = map[account.EventLogView]string{
	account.AccountEventLog: "eventlog.intro.account",
	account.RequestEventLog: "eventlog.intro.request",
	account.PortalEventLog:  "eventlog.intro.portal",
}

func (s *Server) eventFilterFields(r *http.Request, q url.Values, errs account.FieldErrors) []components.Field {
	ctx := r.Context()
	kinds := []components.Choice{{Value: "", Label: i18n.T(ctx, "eventlog.kind_any")}}
	for _, k := range account.EventKinds {
		kinds = append(kinds, components.Choice{Value: k, Label: i18n.T(ctx, "event."+k)})
	}
	return []components.Field{
		{ID: "from", Label: i18n.T(ctx, "eventlog.from"), Type: "date", Value: q.Get("from"), Error: fieldError(r, errs, "from")},
		{ID: "to", Label: i18n.T(ctx, "eventlog.to"), Type: "date", Value: q.Get("to"), Error: fieldError(r, errs, "to")},
		{ID: "kind", Label: i18n.T(ctx, "eventlog.kind"), Type: "select", Options: kinds, Value: q.Get("kind"), Error: fieldError(r, errs, "kind")},
		{ID: "actor", Label: i18n.T(ctx, "eventlog.actor"), Type: "text", Value: q.Get("actor"), MaxLength: account.MaxEventActorLength,
			Error: fieldError(r, errs, "actor")},
	}
}

// logFilter is the filter's part of a log's query string, kept across
// pages and into the export.
type logFilter url.Values

func filterQuery(q url.Values) logFilter {
	out := url.Values{}
	for _, k := range []string{"from", "to", "kind", "actor"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return logFilter(out)
}

func (f logFilter) query(cursor string) string {
	v := url.Values(f)
	if cursor != "" {
		v = url.Values{}
		for k, vs := range f {
			v[k] = vs
		}
		v.Set("cursor", cursor)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// exportFlushEvery is how many rows go out between flushes and between
// extensions of the write deadline: a million-row export outlasts the
// server's WriteTimeout, which is meant for pages, not for streams.
const exportFlushEvery = 5000

// eventLogExport writes every event the filter keeps as CSV (RFC 4180,
// UTF-8, a header row, times in ISO 8601 UTC), read from the database a
// page at a time (EventLog.Export): memory holds one page whatever the
// log's length.
func (s *Server) eventLogExport(target func(*http.Request) (eventLogTarget, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		u, _ := currentUser(ctx)
		t, err := target(r)
		if err != nil {
			return err
		}
		sc, err := s.events.Scope(ctx, u, t.view, t.id)
		if err != nil {
			return err
		}
		f, _, errs := eventFilterOf(r.URL.Query())
		if errs != nil {
			// The page says what is wrong, beside each field.
			return s.eventLog(target)(w, r)
		}
		rc := http.NewResponseController(w)
		name := "event-log.csv"
		if t.id != 0 {
			name = "event-log-" + t.id.String() + ".csv"
		}
		cw := csv.NewWriter(w)
		header := []string{i18n.T(ctx, "event.at"), i18n.T(ctx, "eventlog.account"), i18n.T(ctx, "eventlog.kind_code"),
			i18n.T(ctx, "event.what"), i18n.T(ctx, "event.actor"), i18n.T(ctx, "event.detail")}
		if sc.ShowClient() {
			header = append(header, i18n.T(ctx, "eventlog.client"))
		}
		started, n := false, 0
		err = s.events.Export(ctx, sc, f, func(e account.Event) error {
			if !started {
				// Headers go out with the first row, so a failure before
				// it still reaches the responder as a page.
				started = true
				w.Header().Set("Content-Type", "text/csv; charset=utf-8")
				w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
				w.Header().Set("Cache-Control", "no-store")
				if err := cw.Write(header); err != nil {
					return err
				}
			}
			rec := []string{e.At.UTC().Format(time.RFC3339), "", e.Kind, i18n.T(ctx, "event."+e.Kind), e.Actor, eventDetail(ctx, e)}
			if e.AccountID != 0 {
				rec[1] = e.AccountID.String()
			}
			if sc.ShowClient() {
				rec = append(rec, e.Client)
			}
			if err := cw.Write(csvSafe(rec)); err != nil {
				return err
			}
			if n++; n%exportFlushEvery == 0 {
				cw.Flush()
				_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
				return cw.Error()
			}
			return nil
		})
		if err != nil {
			if !started {
				return err
			}
			// The status is sent: the client sees a cut file; the log says why.
			s.log.ErrorContext(ctx, "event log export cut short", "rows", n, "err", err)
			return nil
		}
		if !started {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
			if err := cw.Write(header); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (OWASP's
// CSV injection): a cell that starts with = + - @, a tab or a carriage
// return is prefixed with a quote, which shows as text.
func csvSafe(rec []string) []string {
	for i, c := range rec {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			rec[i] = "'" + c
		}
	}
	return rec
}

// apiLogEvent is one event in the API: codes and data rather than words,
// except What and Detail, in the client's language.
type apiLogEvent struct {
	ID      int64  `json:"id"`
	At      string `json:"at"`
	Account string `json:"smart_account_id,omitempty"`
	Kind    string `json:"kind"`
	What    string `json:"what"`
	Actor   string `json:"actor"`
	Detail  string `json:"detail"`
	Client  string `json:"client_address,omitempty"`
}

type apiLogEventList struct {
	Items []apiLogEvent `json:"items"`
	// Next is the URL of the next (older) page; null on the last.
	Next *string `json:"next"`
}

// apiEventLog is a log's page in the API: the same filter, 50 a page, a
// cursor to the next.
func (s *Server) apiEventLog(target func(*http.Request) (eventLogTarget, error)) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		t, err := target(r)
		if err != nil {
			return err
		}
		sc, err := s.events.Scope(ctx, apiUser(ctx), t.view, t.id)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		f, cursor, errs := eventFilterOf(q)
		if errs != nil {
			return errs
		}
		p, err := s.events.Page(ctx, sc, f, cursor)
		if err != nil {
			return err
		}
		out := apiLogEventList{Items: []apiLogEvent{}}
		for _, e := range p.Events {
			ae := apiLogEvent{ID: e.ID, At: e.At.UTC().Format(time.RFC3339), Kind: e.Kind, What: i18n.T(ctx, "event."+e.Kind),
				Actor: e.Actor, Detail: eventDetail(ctx, e), Client: e.Client}
			if e.AccountID != 0 {
				ae.Account = e.AccountID.String()
			}
			out.Items = append(out.Items, ae)
		}
		if p.Next.ID != 0 {
			n := t.page + filterQuery(q).query(p.Next.String())
			out.Next = &n
		}
		return s.writeJSON(w, r, http.StatusOK, out)
	}
}

// The API's logs: a request's, for whoever may see the request, and the
// portal's, for staff.
func apiRequestLogTarget(r *http.Request) (eventLogTarget, error) {
	id, err := accountParam(r)
	if err != nil {
		return eventLogTarget{}, err
	}
	return eventLogTarget{view: account.RequestEventLog, id: id, page: paths.APIRequestEvents(id)}, nil
}

func apiPortalLogTarget(*http.Request) (eventLogTarget, error) {
	return eventLogTarget{view: account.PortalEventLog, page: paths.APIEvents}, nil
}
