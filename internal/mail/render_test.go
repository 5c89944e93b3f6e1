package mail_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/mail"
)

// emailKinds reads every EmailKind constant from the domain's source, so a
// kind added there without a template fails here.
func emailKinds(t *testing.T) []account.EmailKind {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../account/email.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []account.EmailKind
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil || len(vs.Values) != 1 {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "EmailKind" {
			lit := vs.Values[0].(*ast.BasicLit)
			kinds = append(kinds, account.EmailKind(strings.Trim(lit.Value, `"`)))
		}
		return true
	})
	if len(kinds) < 5 {
		t.Fatalf("found only %d email kinds in email.go", len(kinds))
	}
	return kinds
}

// newRenderer renders with the real catalog for https://clc.example.com.
func newRenderer(t *testing.T) *mail.Renderer {
	t.Helper()
	catalog, err := i18n.Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://clc.example.com")
	r, err := mail.NewRenderer(base, "Cisco License Central <no-reply@clc.example.com>", catalog)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEveryEmailKindRendersTextAndHTML(t *testing.T) {
	r := newRenderer(t)
	for _, kind := range emailKinds(t) {
		q := account.QueuedEmail{ID: 1, MessageID: "abc", CreatedAt: time.Now(), Email: account.Email{
			Kind: kind, To: "someone@globex.example", Secret: "token123",
			Data: account.EmailData{AccountID: "SA-000001", AccountName: "Globex", Domain: "globex.example",
				RequesterName: "Ada", RequesterEmail: "ada@partner.example", Reason: "because", Role: account.RoleUser,
				ExpiresAt: time.Now()},
		}}
		m, err := r.Render(q)
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		var raw bytes.Buffer
		if _, err := m.WriteTo(&raw); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		s := raw.String()
		if !strings.Contains(s, "text/plain") || !strings.Contains(s, "text/html") || strings.Contains(s, "email.") {
			t.Errorf("%s: not multipart text and HTML, or a message id left untranslated:\n%s", kind, s)
		}
	}
}
