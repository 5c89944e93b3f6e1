package mailcatch

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const css = `
body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
a { color: #0645ad; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .3rem .6rem; border-bottom: 1px solid #ddd; }
th { white-space: nowrap; }
td.h { word-break: break-all; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f6; padding: .8rem; }
iframe { width: 100%; height: 70vh; border: 1px solid #ccc; }
header { display: flex; gap: 1rem; align-items: baseline; }
form { display: inline; }
`

const listHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>Mail catcher ({{len .Messages}})</title><style>{{.CSS}}</style></head>
<body>
<header><h1>Caught mail</h1>
<form method="post" action="/clear"><button>Delete all</button></form>
<a href="/api/messages">JSON</a></header>
{{if .Messages}}
<table>
<tr><th>Received</th><th>From</th><th>To</th><th>Subject</th></tr>
{{range .Messages}}<tr>
<td>{{.Received.Format "2006-01-02 15:04:05"}}</td>
<td>{{.From}}</td>
<td>{{join .To ", "}}</td>
<td><a href="/messages/{{.ID}}">{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</a></td>
</tr>{{end}}
</table>
{{else}}<p>No mail yet. This page reloads every few seconds.</p>{{end}}
</body></html>`

const messageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{.Subject}}</title><style>{{.CSS}}</style></head>
<body>
<header><a href="/">&larr; All mail</a><a href="/messages/{{.ID}}/raw">Raw message</a></header>
<h1>{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</h1>
<table>
<tr><th>Envelope from</th><td class="h">{{.From}}</td></tr>
<tr><th>Envelope to</th><td class="h">{{join .To ", "}}</td></tr>
<tr><th>Received</th><td>{{.Received.Format "2006-01-02 15:04:05 MST"}}</td></tr>
{{range .Headers}}<tr><th>{{.Key}}</th><td class="h">{{.Value}}</td></tr>
{{end}}</table>
<h2>Links</h2>
{{with .Links}}<ul>{{range .}}<li><a href="{{.}}" target="_blank" rel="noopener noreferrer">{{.}}</a></li>{{end}}</ul>
{{else}}<p>No links.</p>{{end}}
{{if .HTML}}<h2>HTML</h2>
<iframe sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation" srcdoc="{{.SrcDoc}}" title="HTML part"></iframe>
{{end}}
{{if .Text}}<h2>Text</h2>
<pre>{{.Text}}</pre>
{{end}}
</body></html>`

type headerLine struct{ Key, Value string }

type messagePage struct {
	Message
	CSS     template.CSS
	Headers []headerLine
	Links   []string
	SrcDoc  string
}

type listPage struct {
	CSS      template.CSS
	Messages []Message
}

// jsonMessage is the API's view of a Message: decoded content, no raw bytes
// (those are at /messages/{id}/raw).
type jsonMessage struct {
	ID       int                 `json:"id"`
	From     string              `json:"from"`
	To       []string            `json:"to"`
	Received time.Time           `json:"received"`
	Subject  string              `json:"subject"`
	Header   map[string][]string `json:"header"`
	Text     string              `json:"text"`
	HTML     string              `json:"html"`
	Links    []string            `json:"links"`
}

// Handler serves the caught mail for reading in a browser:
//
//	GET  /                    messages, newest first
//	GET  /messages/{id}       one message with its headers, parts and links
//	GET  /messages/{id}/raw   the message as received, as text/plain
//	GET  /api/messages        all messages as JSON, newest first
//	GET  /api/messages/{id}   one message as JSON
//	POST /clear               delete all messages
func (s *Server) Handler() http.Handler {
	funcs := template.FuncMap{"join": strings.Join}
	list := template.Must(template.New("list").Funcs(funcs).Parse(listHTML))
	page := template.Must(template.New("message").Funcs(funcs).Parse(messageHTML))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		render(w, list, listPage{CSS: css, Messages: s.newestFirst()})
	})
	mux.HandleFunc("GET /messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.fromPath(w, r)
		if !ok {
			return
		}
		render(w, page, messagePage{
			Message: m,
			CSS:     css,
			Headers: headerLines(m),
			Links:   m.Links(),
			// Links in the mail should open a normal tab: inside the
			// sandboxed frame the portal's pages would not work.
			SrcDoc: `<base target="_blank">` + m.HTML,
		})
	})
	mux.HandleFunc("GET /messages/{id}/raw", func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.fromPath(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(m.Raw)
	})
	mux.HandleFunc("GET /api/messages", func(w http.ResponseWriter, r *http.Request) {
		msgs := s.newestFirst()
		out := make([]jsonMessage, len(msgs))
		for i, m := range msgs {
			out[i] = toJSON(m)
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /api/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := s.fromPath(w, r); ok {
			writeJSON(w, toJSON(m))
		}
	})
	mux.HandleFunc("POST /clear", func(w http.ResponseWriter, r *http.Request) {
		s.Clear()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return securityHeaders(mux)
}

// securityHeaders keeps caught mail from running code in the catcher's
// origin; srcdoc frames inherit the policy, so scripts in mail stay off
// even if the sandbox attribute were lost.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "script-src 'none'; object-src 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// fromPath finds the message named by the {id} wildcard or answers 404.
// The returned message shares memory with the store and must not be
// modified.
func (s *Server) fromPath(w http.ResponseWriter, r *http.Request) (Message, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err == nil {
		s.mu.Lock()
		m, ok := s.lookup(id)
		s.mu.Unlock()
		if ok {
			return m, true
		}
	}
	http.Error(w, "no such message (it may have been deleted)", http.StatusNotFound)
	return Message{}, false
}

func headerLines(m Message) []headerLine {
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var lines []headerLine
	for _, k := range keys {
		for _, v := range m.Header[k] {
			lines = append(lines, headerLine{Key: k, Value: decodeHeader(v)})
		}
	}
	return lines
}

func toJSON(m Message) jsonMessage {
	return jsonMessage{
		ID: m.ID, From: m.From, To: m.To, Received: m.Received,
		Subject: m.Subject, Header: m.Header, Text: m.Text, HTML: m.HTML,
		Links: m.Links(),
	}
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	// Buffer so a template error still yields a clean 500.
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w) // the client went away: nothing to tell it
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // as above
}
