// Command baseline is the least a search page can be: net/http, one pgx
// query that a btree index answers, one templ component, no session. The
// benchmark measures the portal's pages against it, so the difference is
// what the portal's own work costs.
//
//	baseline -addr 127.0.0.1:8091 -db postgres://…
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Row is one Smart Account of the page.
type Row struct {
	ID     int64
	Name   string
	Domain string
	Status string
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "where to listen")
	db := flag.String("db", os.Getenv("DATABASE_URL"), "the database, migrated and seeded")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *db); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, addr, db string) error {
	pool, err := pgxpool.New(ctx, db)
	if err != nil {
		return err
	}
	defer pool.Close()
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
		var buf bytes.Buffer
		if err := page(q, list).Render(r.Context(), &buf); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
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
