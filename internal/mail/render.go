// Package mail delivers the outbox: a worker claims due emails, renders them
// from web/email in the recipient's language and sends them over SMTP.
package mail

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/web/email"
)

// Renderer turns an outbox row into a MIME message.
type Renderer struct {
	base    *url.URL
	from    string
	catalog *i18n.Catalog
	// idDomain is the right-hand side of every Message-ID.
	idDomain string
}

// NewRenderer builds links on base and sends from from.
func NewRenderer(base *url.URL, from string, catalog *i18n.Catalog) (*Renderer, error) {
	m := gomail.NewMsg()
	if err := m.From(from); err != nil {
		return nil, fmt.Errorf("CLC_MAIL_FROM %q: %w", from, err)
	}
	addr := m.GetFrom()[0].Address
	return &Renderer{base: base, from: from, catalog: catalog, idDomain: addr[len(addr)-len(account.EmailDomain(addr)):]}, nil
}

// Link is an absolute URL on the portal.
func (r *Renderer) Link(path string) string {
	u := *r.base
	u.Path, u.Fragment, _ = strings.Cut(path, "#")
	return u.String()
}

// Render builds the message for q.
func (r *Renderer) Render(q account.QueuedEmail) (*gomail.Msg, error) {
	tr := r.catalog.Translator(r.catalog.Match(q.Email.Lang, ""))
	content, err := r.content(tr, q.Email)
	if err != nil {
		return nil, err
	}
	content.Lang = tr.Lang()
	content.Colon = tr.T("email.text.colon")
	var html bytes.Buffer
	ctx := i18n.With(context.Background(), tr)
	if err := email.HTML(content).Render(ctx, &html); err != nil {
		return nil, fmt.Errorf("render %s: %w", q.Email.Kind, err)
	}
	m := gomail.NewMsg()
	if err := m.From(r.from); err != nil {
		return nil, err
	}
	if err := m.To(q.Email.To); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", q.Email.To, err)
	}
	m.Subject(content.Subject)
	// Fixed when queued: a resend after a crash carries the same id, so the
	// recipient's mail system can recognise it.
	m.SetMessageIDWithValue(q.MessageID + "@" + r.idDomain)
	m.SetDateWithValue(q.CreatedAt)
	m.SetGenHeader(gomail.HeaderContentLang, content.Lang)
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBodyString(gomail.TypeTextPlain, email.Text(content))
	m.AddAlternativeString(gomail.TypeTextHTML, html.String())
	return m, nil
}

// content is what each kind of email says, each kind in a function of its
// own (kinds.go) over the facts every email shares.
func (r *Renderer) content(tr *i18n.Translator, e account.Email) (email.Message, error) {
	if (e.Kind == account.EmailApprovalRequest || e.Kind == account.EmailApprovalReminder || e.Kind == account.EmailMessageToApprover) && e.Secret == "" {
		// Its token was erased (sent, or failed and not yet retried): a link
		// without it would open nothing.
		return email.Message{}, fmt.Errorf("%s email without its link's token", e.Kind)
	}
	c := r.composer(tr, e)
	switch e.Kind {
	case account.EmailApprovalRequest:
		return c.approvalRequest(), nil
	case account.EmailSubdomainNotice:
		return c.subdomainNotice(), nil
	case account.EmailRequestConfirmation:
		return c.requestConfirmation(), nil
	case account.EmailApprovalReminder:
		return c.approvalReminder(), nil
	case account.EmailRequestDenied:
		return c.requestDenied(), nil
	case account.EmailRequestApproved:
		return c.requestApproved(), nil
	case account.EmailAccountCreatedAdmin, account.EmailAddedUserWelcome:
		return c.welcome(), nil
	case account.EmailRequestExpired:
		return c.requestExpired(), nil
	case account.EmailRequestWithdrawn:
		return c.requestWithdrawn(), nil
	case account.EmailMessageToApprover:
		return c.messageToApprover(), nil
	case account.EmailMessageToPartner:
		return c.messageToPartner(), nil
	case account.EmailApproversNotOpened:
		return c.approversNotOpened(), nil
	case account.EmailAccessRequested:
		return c.accessRequested(), nil
	case account.EmailAccessApproved, account.EmailAccessDeclined:
		return c.accessDecided(), nil
	case account.EmailAccessMessage:
		return c.accessMessage(), nil
	}
	return email.Message{}, fmt.Errorf("no template for email kind %q", e.Kind)
}
