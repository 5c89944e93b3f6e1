package mail_test

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// ASVS 1.3.11: an account name is the partner's text, and it goes into the
// Subject; a line break in it must not start a header of its own.
func TestANameCannotAddAHeader(t *testing.T) {
	r := newRenderer(t)
	for _, name := range []string{"Globex\r\nBcc: eve@evil.example", "Globex\nBcc: eve@evil.example", "Globex\rBcc: eve@evil.example"} {
		q := account.QueuedEmail{ID: 1, MessageID: "abc", CreatedAt: time.Now(), Email: account.Email{
			Kind: account.EmailApprovalRequest, To: "someone@globex.example", Secret: "token123",
			Data: account.EmailData{AccountID: "SA-000001", AccountName: name, Domain: "globex.example",
				RequesterName: "Ada\r\nX-Evil: 1", RequesterEmail: "ada@partner.example", ExpiresAt: time.Now()},
		}}
		m, err := r.Render(q)
		if err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		if _, err := m.WriteTo(&raw); err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(&raw)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get("Bcc") != "" || msg.Header.Get("X-Evil") != "" {
			t.Errorf("%q added a header: %v", name, msg.Header)
		}
		if to := msg.Header.Get("To"); !strings.Contains(to, "someone@globex.example") || strings.Contains(to, "eve") {
			t.Errorf("To %q", to)
		}
	}
}
