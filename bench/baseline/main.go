// Command baseline is what the benchmark measures the portal against. Two
// kinds of page, no session, no middleware:
//
//   - /search: the least a search page can be: net/http, one pgx query that
//     a btree index answers, one templ component (the one-query baseline);
//
//   - /same/…: each page's own work, the same domain call and so the same
//     SQL as the portal's page, for the benchmark's partner, rendered as a
//     plain table (the same-work baselines). The portal's page over its
//     same-work baseline is what its framework costs: session, middleware,
//     menu, layout, translated words.
//
//     baseline -addr 127.0.0.1:8091 -db postgres://… -user partner@example
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/a-h/templ"
	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
)

// Row is one Smart Account of the one-query page.
type Row struct {
	ID     int64
	Name   string
	Domain string
	Status string
}

// Line is one line of a same-work page.
type Line struct {
	Name, ID, Domain, Status, Detail string
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "where to listen")
	db := flag.String("db", os.Getenv("DATABASE_URL"), "the database, migrated and seeded")
	user := flag.String("user", "", "whose pages the same-work baselines show")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *db, *user); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, addr, db, email string) error {
	// The portal's own pool: same settings, same plans.
	pool, err := postgres.Open(ctx, db)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc := account.NewService(postgres.NewStore(pool), account.SystemClock{}, account.NewArgon2id())
	svc.SetUserEmailsPerDay(1_000_000) // as the portal under bench: one partner submits all the requests
	var viewer account.User
	if email != "" {
		if viewer, err = svc.UserByEmail(ctx, email); err != nil {
			return err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("q")
		// The portal's first search tier, alone: names that start with the
		// folded query, a range of the name index.
		rows, err := pool.Query(r.Context(), `
			SELECT id, name, domain, status FROM smart_accounts
			WHERE name_folded >= clc_fold($1) AND name_folded < clc_fold($1) || chr(1114111)
				AND status IN ('active', 'pending') AND NOT restricted
			ORDER BY name_folded, id
			LIMIT 25`, q)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Row])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		render(w, r, page(q, list))
	})
	same := func(pattern string, fn func(r *http.Request) (string, []Line, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			title, lines, err := fn(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			render(w, r, lister(title, lines))
		})
	}
	same("GET /same/home", func(r *http.Request) (string, []Line, error) { return "Home", nil, nil })
	same("GET /same/search", func(r *http.Request) (string, []Line, error) {
		res, err := svc.Search(r.Context(), viewer, r.URL.Query().Get("q"), 1)
		return "Search", listings(res.Items), err
	})
	same("GET /same/directory", func(r *http.Request) (string, []Line, error) {
		secs, err := svc.Directory(r.Context(), viewer)
		var lines []Line
		for _, sec := range secs {
			lines = append(lines, Line{Name: string(sec.Section), Detail: strconv.Itoa(sec.Total)})
			lines = append(lines, listings(sec.Items)...)
		}
		return "Directory", lines, err
	})
	same("GET /same/directory/{section}", func(r *http.Request) (string, []Line, error) {
		q := r.URL.Query()
		page, _ := strconv.Atoi(q.Get("page"))
		sec, err := svc.DirectorySection(r.Context(), viewer, account.DirectorySectionQuery{
			Section: account.Section(r.PathValue("section")), Filter: q.Get("q"), After: q.Get("after"), Before: q.Get("before"), Page: page})
		return string(sec.Section), listings(sec.Items), err
	})
	same("GET /same/account/{id}", func(r *http.Request) (string, []Line, error) {
		id, err := account.ParseAccountID(r.PathValue("id"))
		if err != nil {
			return "", nil, err
		}
		d, err := svc.AccountPage(r.Context(), viewer, account.AccountPageQuery{ID: id})
		lines := listings([]account.Listing{d.Listing})
		for _, va := range d.VirtualAccounts {
			lines = append(lines, Line{Name: va.Name, Detail: string(va.Role)})
		}
		for _, h := range d.Holders.Items {
			lines = append(lines, Line{Name: h.Name, Detail: h.Email + " " + string(h.Role) + " " + h.VirtualAccount})
		}
		for _, e := range d.Events.Items {
			lines = append(lines, Line{Name: e.Kind, Detail: e.At.Format(time.DateTime) + " " + e.Actor + " " + eventDetail(e.Params)})
		}
		return d.Account.Name, lines, err
	})
	same("GET /same/pending/{token}", func(r *http.Request) (string, []Line, error) {
		p, msgs, err := svc.OpenLinkWithMessages(r.Context(), r.PathValue("token"))
		if err == nil && p.State != account.LinkLive {
			err = errors.New("the link is not live")
		}
		a := p.Request.Account
		lines := []Line{{Name: a.Name, ID: a.ID.String(), Domain: a.Domain, Status: string(a.Status), Detail: p.Request.NoteToCustomer}}
		for _, m := range msgs {
			lines = append(lines, Line{Name: m.Actor, Detail: m.Params.Text})
		}
		return "Pending Request", lines, err
	})
	act := func(pattern string, fn func(r *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(r); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			http.Redirect(w, r, "/same/home", http.StatusSeeOther)
		})
	}
	act("POST /same/submit", func(r *http.Request) error {
		_, err := svc.SubmitRequest(r.Context(), viewer, account.AccountRequestInput{
			Name: r.PostFormValue("name"), Domain: r.PostFormValue("domain"),
			NoteToApprover: r.PostFormValue("note_to_approver"), CustomerEmails: r.PostFormValue("customer_emails"),
			NoteToCustomer: r.PostFormValue("note_to_customer"), UserEmails: r.PostFormValue("user_emails"),
			NoteToUsers: r.PostFormValue("note_to_users"), SubmissionKey: r.PostFormValue("submission_key"),
		})
		return err
	})
	act("POST /same/approve/{token}", func(r *http.Request) error {
		_, err := svc.Approve(r.Context(), r.PathValue("token"), r.PostForm["add_user"])
		return err
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Printf("baseline serving on http://%s\n", addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return srv.Shutdown(context.Background())
	}
}

func listings(ls []account.Listing) []Line {
	out := make([]Line, 0, len(ls))
	for _, l := range ls {
		line := Line{Name: l.Account.Name, ID: l.Account.ID.String(), Domain: l.Account.Domain, Status: string(l.Account.Status)}
		for _, c := range l.Admins {
			line.Detail += c.Name + " <" + c.Email + "> "
		}
		for _, va := range l.VirtualAccounts {
			line.Detail += va.Name + " "
		}
		out = append(out, line)
	}
	return out
}

// render writes c once it rendered whole, as the portal does.
func render(w http.ResponseWriter, r *http.Request, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// eventDetail writes what an event records beside its kind, as the
// portal's history does in the viewer's language, here in one of its own.
func eventDetail(p account.EventParams) string {
	parts := append(append([]string{}, p.Approvers...), p.To...)
	for _, s := range []string{string(p.Email), p.User, string(p.Role), p.VirtualAccount, p.Reason, p.Text} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}
