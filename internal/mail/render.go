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
	"github.com/clc-portal/clc/internal/paths"
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
	u.Path = path
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

// content is what each kind of email says.
func (r *Renderer) content(tr *i18n.Translator, e account.Email) (email.Message, error) {
	d := e.Data
	details := []email.Detail{
		{Label: tr.T("email.detail.account"), Value: d.AccountName},
		{Label: tr.T("email.detail.domain"), Value: d.Domain},
	}
	requester := d.RequesterName + " <" + d.RequesterEmail + ">"
	if d.PartnerName != "" {
		requester += ", " + d.PartnerName
	}
	footer := tr.T("email.footer")
	expires := tr.Date(d.ExpiresAt)
	accountID := e.AccountID
	if accountID == 0 {
		accountID, _ = account.ParseAccountID(d.AccountID) // written before emails carried the id
	}
	withID := append(details, email.Detail{Label: tr.T("email.detail.account_id"), Value: d.AccountID})
	requestPage := &email.Link{Label: tr.T("email.partner.action"), URL: r.Link(paths.RequestStatus(accountID))}
	if (e.Kind == account.EmailApprovalRequest || e.Kind == account.EmailApprovalReminder) && e.Secret == "" {
		// Its token was erased (sent, or failed and not yet retried): a link
		// without it would open nothing.
		return email.Message{}, fmt.Errorf("%s email without its link's token", e.Kind)
	}
	switch e.Kind {
	case account.EmailApprovalRequest:
		intro := []string{tr.T("email.approval.intro", "Requester", requester, "Account", d.AccountName)}
		if d.Actor != "" {
			intro = append([]string{tr.T("email.approval.forwarded", "Actor", d.Actor)}, intro...)
		}
		return email.Message{
			Subject:    tr.T("email.approval.subject", "Account", d.AccountName),
			Greeting:   tr.T("email.greeting"),
			Paragraphs: intro,
			NoteLabel:  tr.T("email.approval.note"),
			Note:       d.Note,
			Details: append(details,
				email.Detail{Label: tr.T("email.detail.requested_by"), Value: requester},
				usersToAdd(tr, d),
				email.Detail{Label: tr.T("email.detail.expires"), Value: expires}),
			Action: &email.Link{Label: tr.T("email.approval.action"), URL: r.Link(paths.Pending(e.Secret))},
			After:  []string{tr.T("email.approval.after")},
			Footer: footer,
		}, nil
	case account.EmailSubdomainNotice:
		return email.Message{
			Subject:    tr.T("email.subdomain.subject", "Account", d.AccountName),
			Greeting:   tr.T("email.greeting"),
			Paragraphs: []string{tr.T("email.subdomain.intro", "Requester", requester, "Account", d.AccountName, "Parent", d.ParentAccount)},
			Details:    append(details, email.Detail{Label: tr.T("email.detail.requested_by"), Value: requester}),
			Action:     &email.Link{Label: tr.T("email.subdomain.action"), URL: r.Link(paths.Directory)},
			Footer:     footer,
		}, nil
	case account.EmailRequestConfirmation:
		m := email.Message{
			Subject:    tr.T("email.confirmation.subject", "Account", d.AccountName),
			Greeting:   tr.T("email.greeting"),
			Paragraphs: []string{tr.T("email.confirmation.intro", "Account", d.AccountName)},
			Details: append(details,
				email.Detail{Label: tr.T("email.detail.account_id"), Value: d.AccountID},
				email.Detail{Label: tr.T("email.detail.approvers"), Value: strings.Join(d.Approvers, ", ")},
				email.Detail{Label: tr.T("email.detail.expires"), Value: expires}),
			Action: &email.Link{Label: tr.T("email.confirmation.action"), URL: r.Link(paths.Directory)},
			Footer: footer,
		}
		if len(d.Held) > 0 {
			m.Paragraphs = append(m.Paragraphs, tr.T("email.confirmation.held", "Emails", strings.Join(d.Held, ", ")))
		}
		return m, nil
	case account.EmailApprovalReminder:
		return email.Message{
			Subject:    tr.T("email.reminder.subject", "Account", d.AccountName),
			Greeting:   tr.T("email.greeting"),
			Paragraphs: []string{tr.T("email.reminder.intro", "Requester", requester, "Account", d.AccountName, "Date", expires)},
			NoteLabel:  tr.T("email.approval.note"),
			Note:       d.Note,
			Details: append(details,
				email.Detail{Label: tr.T("email.detail.requested_by"), Value: requester},
				usersToAdd(tr, d),
				email.Detail{Label: tr.T("email.detail.expires"), Value: expires}),
			Action: &email.Link{Label: tr.T("email.approval.action"), URL: r.Link(paths.Pending(e.Secret))},
			After:  []string{tr.T("email.reminder.after"), tr.T("email.approval.after")},
			Footer: footer,
		}, nil
	case account.EmailRequestDenied:
		return email.Message{
			Subject:    tr.T("email.denied.subject", "Account", d.AccountName),
			Greeting:   tr.T("email.greeting"),
			Paragraphs: []string{tr.T("email.denied.intro", "Actor", d.Actor, "Account", d.AccountName)},
			NoteLabel:  tr.T("email.denied.reason"),
			Note:       d.Reason,
			Details:    withID,
			Action:     requestPage,
			Footer:     footer,
		}, nil
	case account.EmailRequestApproved:
		m := email.Message{
			Subject:    tr.T("email.approved.subject", "Account", d.AccountName),
			Greeting:   tr.T("email.greeting"),
			Paragraphs: []string{tr.T("email.approved.intro", "Actor", d.Actor, "Account", d.AccountName, "VA", account.DefaultVirtualAccount, "Admin", d.Admin)},
			Details:    withID,
			Action:     requestPage,
			Footer:     footer,
		}
		if len(d.LeftOut) > 0 {
			m.Paragraphs = append(m.Paragraphs, tr.T("email.approved.left_out", "Emails", strings.Join(d.LeftOut, ", ")))
		}
		return m, nil
	case account.EmailAccountCreatedAdmin, account.EmailAddedUserWelcome:
		m := email.Message{
			Greeting: tr.T("email.greeting"),
			Details:  append(withID, email.Detail{Label: tr.T("email.detail.role"), Value: tr.T("role." + string(d.Role))}),
			Footer:   footer,
		}
		if e.Kind == account.EmailAccountCreatedAdmin {
			m.Subject = tr.T("email.admin.subject", "Account", d.AccountName)
			m.Paragraphs = []string{tr.T("email.admin.intro", "Requester", requester, "Account", d.AccountName)}
		} else {
			m.Subject = tr.T("email.welcome.subject", "Account", d.AccountName)
			m.Paragraphs = []string{tr.T("email.welcome.intro", "Account", d.AccountName, "Role", tr.T("role."+string(d.Role)))}
			m.NoteLabel, m.Note = tr.T("email.welcome.note"), d.Note
		}
		// Someone who has never signed in gets a link to set a first
		// password; everyone else signs in as usual.
		if e.Secret != "" {
			m.Action = &email.Link{Label: tr.T("email.setpassword.action"), URL: r.Link(paths.SetPassword(e.Secret))}
			m.After = []string{tr.T("email.setpassword.after", "Days", int(account.SetPasswordLifetime.Hours()/24))}
		} else {
			m.Action = &email.Link{Label: tr.T("email.subdomain.action"), URL: r.Link(paths.CLC)}
		}
		return m, nil
	case account.EmailRequestExpired:
		return email.Message{
			Subject:    tr.T("email.expired.subject", "Account", d.AccountName),
			Greeting:   tr.T("email.greeting"),
			Paragraphs: []string{tr.T("email.expired.intro", "Requester", requester, "Account", d.AccountName, "Date", expires)},
			Details:    withID,
			Footer:     footer,
		}, nil
	case account.EmailRequestWithdrawn:
		return email.Message{
			Subject:    tr.T("email.withdrawn.subject", "Account", d.AccountName),
			Greeting:   tr.T("email.greeting"),
			Paragraphs: []string{tr.T("email.withdrawn.intro", "Requester", requester, "Account", d.AccountName)},
			Details:    details,
			Footer:     footer,
		}, nil
	case account.EmailAccessRequested:
		role := tr.T("role." + string(d.Role))
		if d.VirtualAccount != "" {
			role = tr.T("access.role_on_va", "Role", role, "VirtualAccount", d.VirtualAccount)
		}
		return email.Message{
			Subject:    tr.T("email.access.subject", "Account", d.AccountName),
			Greeting:   tr.T("email.greeting"),
			Paragraphs: []string{tr.T("email.access.intro", "Requester", d.RequesterName+" <"+d.RequesterEmail+">", "Role", role, "Account", d.AccountName)},
			NoteLabel:  tr.T("email.access.reason"),
			Note:       d.Reason,
			Details:    append(details, email.Detail{Label: tr.T("email.detail.account_id"), Value: d.AccountID}),
			Action:     &email.Link{Label: tr.T("email.access.action"), URL: r.Link(paths.AccountPart(accountID, "access-requests"))},
			Footer:     footer,
		}, nil
	case account.EmailAccessApproved, account.EmailAccessDeclined:
		role := tr.T("role." + string(d.Role))
		if d.VirtualAccount != "" {
			role = tr.T("access.role_on_va", "Role", role, "VirtualAccount", d.VirtualAccount)
		} else if e.Kind == account.EmailAccessApproved {
			role = tr.T("access.role_on_account", "Role", role)
		}
		m := email.Message{
			Greeting: tr.T("email.greeting"),
			Details:  withID,
			Action:   &email.Link{Label: tr.T("email.access.action_directory"), URL: r.Link(paths.Directory)},
			Footer:   footer,
		}
		if e.Kind == account.EmailAccessApproved {
			m.Subject = tr.T("email.access_approved.subject", "Account", d.AccountName)
			m.Paragraphs = []string{tr.T("email.access_approved.intro", "Account", d.AccountName, "Role", role)}
		} else {
			m.Subject = tr.T("email.access_declined.subject", "Account", d.AccountName)
			m.Paragraphs = []string{tr.T("email.access_declined.intro", "Account", d.AccountName, "Role", role)}
			m.NoteLabel, m.Note = tr.T("email.access_declined.reason"), d.Reason
		}
		if d.Actor == "" {
			m.After = []string{tr.T("email.access.by_rule")}
		}
		return m, nil
	}
	return email.Message{}, fmt.Errorf("no template for email kind %q", e.Kind)
}

// usersToAdd is the approval email's line naming whom the approval would
// give access: the approver consents to them too, so they see them before
// opening the link.
func usersToAdd(tr *i18n.Translator, d account.EmailData) email.Detail {
	users := tr.T("request.none")
	if len(d.Users) > 0 {
		users = strings.Join(d.Users, ", ")
	}
	return email.Detail{Label: tr.T("email.detail.users_to_add"), Value: users}
}
