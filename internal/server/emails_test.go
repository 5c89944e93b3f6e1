package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestOperatorsSeeAndRetryEmails(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	review := review(t, b, validForm())
	wantRedirect(t, b.post("/clc/accounts/new/submit", review), "/clc/directory")
	// One email failed for good, as after a 5xx reply.
	var failed int64
	if err := a.db.Pool.QueryRow(context.Background(), `
		UPDATE outbox SET state = 'failed', attempts = 1, last_error = '550 no such user'
		WHERE id = (SELECT min(id) FROM outbox) RETURNING id`).Scan(&failed); err != nil {
		t.Fatal(err)
	}

	wantStatus(t, b.get("/ops/emails"), http.StatusForbidden) // a partner is no operator
	a.user("ops@clc.example", "Olga", true)
	ops := a.signedIn("ops@clc.example")
	p := ops.get("/ops/emails")
	wantStatus(t, p, http.StatusOK)
	if n := p.Doc.Find("#emails tbody tr").Length(); n != 3 {
		t.Fatalf("%d emails listed, want 3", n)
	}
	row := p.Doc.Find(`#emails tr[data-state="failed"]`)
	if !strings.Contains(row.Text(), "550 no such user") || row.Find(`button:contains("Retry")`).Length() != 1 {
		t.Fatalf("failed row: %q", row.Text())
	}
	if p.Doc.Find(`#emails tr[data-state="pending"] button`).Length() != 0 {
		t.Error("a waiting email offers Retry")
	}
	action, _ := row.Find("form").Attr("action")
	wantRedirect(t, ops.post(action, nil), "/ops/emails")
	if s := a.str(t, `SELECT state FROM outbox WHERE id = $1`, failed); s != "pending" {
		t.Fatalf("after Retry the email is %s", s)
	}
	// A partner cannot retry, and an email that did not fail cannot be.
	wantStatus(t, b.post(action, nil), http.StatusForbidden)
	wantStatus(t, ops.post(action, nil), http.StatusNotFound)
}
