package mail

import (
	"strings"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/email"
)

// composer holds what every email about an account says the same way, for
// the functions below, one a kind of email.
type composer struct {
	r         *Renderer
	tr        *i18n.Translator
	e         account.Email
	d         account.EmailData
	requester string // "Name <address>, Partner"
	footer    string
	expires   string
	accountID account.AccountID
}

func (r *Renderer) composer(tr *i18n.Translator, e account.Email) composer {
	d := e.Data
	c := composer{r: r, tr: tr, e: e, d: d, footer: tr.T("email.footer"), expires: tr.Date(d.ExpiresAt), accountID: e.AccountID}
	c.requester = d.RequesterName + " <" + d.RequesterEmail + ">"
	if d.PartnerName != "" {
		c.requester += ", " + d.PartnerName
	}
	if c.accountID == 0 {
		c.accountID, _ = account.ParseAccountID(d.AccountID) // written before emails carried the id
	}
	return c
}

// details name the account; each call is a slice of its own, so an email
// may add to it.
func (c composer) details() []email.Detail {
	return []email.Detail{
		{Label: c.tr.T("email.detail.account"), Value: c.d.AccountName},
		{Label: c.tr.T("email.detail.domain"), Value: c.d.Domain},
	}
}

func (c composer) withID() []email.Detail {
	return append(c.details(), email.Detail{Label: c.tr.T("email.detail.account_id"), Value: c.d.AccountID})
}

// requestPage is the partner's way to the request's page.
func (c composer) requestPage() *email.Link {
	return &email.Link{Label: c.tr.T("email.partner.action"), URL: c.r.Link(paths.RequestStatus(c.accountID))}
}

// approvalRequest asks a customer's approver to approve, with their link.
func (c composer) approvalRequest() email.Message {
	tr, e, d := c.tr, c.e, c.d
	intro := []string{tr.T("email.approval.intro", "Requester", c.requester, "Account", d.AccountName)}
	if d.Actor != "" {
		intro = append([]string{tr.T("email.approval.forwarded", "Actor", d.Actor)}, intro...)
	}
	return email.Message{
		Subject:    tr.T("email.approval.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: intro,
		NoteLabel:  tr.T("email.approval.note"),
		Note:       d.Note,
		Details: append(c.details(),
			email.Detail{Label: tr.T("email.detail.requested_by"), Value: c.requester},
			usersToAdd(tr, d),
			email.Detail{Label: tr.T("email.detail.expires"), Value: c.expires}),
		Action: &email.Link{Label: tr.T("email.approval.action"), URL: c.r.Link(paths.Pending(e.Secret))},
		After:  []string{tr.T("email.approval.after")},
		Footer: c.footer,
	}
}

// subdomainNotice tells an account's administrators a subdomain of theirs was requested.
func (c composer) subdomainNotice() email.Message {
	tr, d := c.tr, c.d
	return email.Message{
		Subject:    tr.T("email.subdomain.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.subdomain.intro", "Requester", c.requester, "Account", d.AccountName, "Parent", d.ParentAccount)},
		Details:    append(c.details(), email.Detail{Label: tr.T("email.detail.requested_by"), Value: c.requester}),
		Action:     &email.Link{Label: tr.T("email.subdomain.action"), URL: c.r.Link(paths.Directory)},
		Footer:     c.footer,
	}
}

// requestConfirmation confirms a submission to the partner.
func (c composer) requestConfirmation() email.Message {
	tr, d := c.tr, c.d
	m := email.Message{
		Subject:    tr.T("email.confirmation.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.confirmation.intro", "Account", d.AccountName)},
		Details: append(c.details(),
			email.Detail{Label: tr.T("email.detail.account_id"), Value: d.AccountID},
			email.Detail{Label: tr.T("email.detail.approvers"), Value: strings.Join(d.Approvers, ", ")},
			email.Detail{Label: tr.T("email.detail.expires"), Value: c.expires}),
		Action: &email.Link{Label: tr.T("email.confirmation.action"), URL: c.r.Link(paths.Directory)},
		Footer: c.footer,
	}
	if len(d.Held) > 0 {
		m.Paragraphs = append(m.Paragraphs, tr.T("email.confirmation.held", "Emails", strings.Join(d.Held, ", ")))
	}
	return m
}

// approvalReminder reminds an approver before the request c.expires, with a new link.
func (c composer) approvalReminder() email.Message {
	tr, e, d := c.tr, c.e, c.d
	return email.Message{
		Subject:    tr.T("email.reminder.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.reminder.intro", "Requester", c.requester, "Account", d.AccountName, "Date", c.expires)},
		NoteLabel:  tr.T("email.approval.note"),
		Note:       d.Note,
		Details: append(c.details(),
			email.Detail{Label: tr.T("email.detail.requested_by"), Value: c.requester},
			usersToAdd(tr, d),
			email.Detail{Label: tr.T("email.detail.expires"), Value: c.expires}),
		Action: &email.Link{Label: tr.T("email.approval.action"), URL: c.r.Link(paths.Pending(e.Secret))},
		After:  []string{tr.T("email.reminder.after"), tr.T("email.approval.after")},
		Footer: c.footer,
	}
}

// messageToApprover gives an approver a message on the request, with a new
// link to answer it or decide.
func (c composer) messageToApprover() email.Message {
	tr, e, d := c.tr, c.e, c.d
	return email.Message{
		Subject:    tr.T("email.message.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.message.intro", "Actor", d.Actor, "Account", d.AccountName)},
		NoteLabel:  tr.T("email.message.note"),
		Note:       d.Note,
		Details: append(c.details(),
			email.Detail{Label: tr.T("email.detail.requested_by"), Value: c.requester},
			email.Detail{Label: tr.T("email.detail.expires"), Value: c.expires}),
		Action: &email.Link{Label: tr.T("email.message.action_approver"), URL: c.r.Link(paths.Pending(e.Secret))},
		After:  []string{tr.T("email.message.replaces"), tr.T("email.approval.after")},
		Footer: c.footer,
	}
}

// messageToPartner gives the partner a message on their request.
func (c composer) messageToPartner() email.Message {
	tr, d := c.tr, c.d
	return email.Message{
		Subject:    tr.T("email.message.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.message.intro", "Actor", d.Actor, "Account", d.AccountName)},
		NoteLabel:  tr.T("email.message.note"),
		Note:       d.Note,
		Details:    c.withID(),
		Action:     &email.Link{Label: tr.T("email.message.action_partner"), URL: c.r.Link(paths.RequestConversation(c.accountID))},
		Footer:     c.footer,
	}
}

// approversNotOpened tells the partner nobody opened the request's page.
func (c composer) approversNotOpened() email.Message {
	tr, d := c.tr, c.d
	return email.Message{
		Subject:    tr.T("email.not_opened.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.not_opened.intro", "Account", d.AccountName, "Days", int(account.NotOpenedAfter.Hours()/24)), tr.T("email.not_opened.what")},
		Details: append(c.withID(),
			email.Detail{Label: tr.T("email.detail.approvers"), Value: strings.Join(d.Approvers, ", ")},
			email.Detail{Label: tr.T("email.detail.expires"), Value: c.expires}),
		Action: &email.Link{Label: tr.T("email.not_opened.action"), URL: c.r.Link(paths.RequestFollowUp(c.accountID))},
		Footer: c.footer,
	}
}

// requestDenied tells the partner the request was denied, and why.
func (c composer) requestDenied() email.Message {
	tr, d := c.tr, c.d
	return email.Message{
		Subject:    tr.T("email.denied.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.denied.intro", "Actor", d.Actor, "Account", d.AccountName)},
		NoteLabel:  tr.T("email.denied.reason"),
		Note:       d.Reason,
		Details:    c.withID(),
		Action:     c.requestPage(),
		Footer:     c.footer,
	}
}

// requestApproved tells the partner the account was created.
func (c composer) requestApproved() email.Message {
	tr, d := c.tr, c.d
	m := email.Message{
		Subject:    tr.T("email.approved.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.approved.intro", "Actor", d.Actor, "Account", d.AccountName, "VA", account.DefaultVirtualAccount, "Admin", d.Admin)},
		Details:    c.withID(),
		Action:     c.requestPage(),
		Footer:     c.footer,
	}
	if len(d.LeftOut) > 0 {
		m.Paragraphs = append(m.Paragraphs, tr.T("email.approved.left_out", "Emails", strings.Join(d.LeftOut, ", ")))
	}
	return m
}

// welcome tells the new Administrator, or an added user, of their role.
func (c composer) welcome() email.Message {
	tr, e, d := c.tr, c.e, c.d
	m := email.Message{
		Greeting: tr.T("email.greeting"),
		Details:  append(c.withID(), email.Detail{Label: tr.T("email.detail.role"), Value: tr.T("role." + string(d.Role))}),
		Footer:   c.footer,
	}
	if e.Kind == account.EmailAccountCreatedAdmin {
		m.Subject = tr.T("email.admin.subject", "Account", d.AccountName)
		m.Paragraphs = []string{tr.T("email.admin.intro", "Requester", c.requester, "Account", d.AccountName)}
	} else {
		m.Subject = tr.T("email.welcome.subject", "Account", d.AccountName)
		m.Paragraphs = []string{tr.T("email.welcome.intro", "Account", d.AccountName, "Role", tr.T("role."+string(d.Role)))}
		m.NoteLabel, m.Note = tr.T("email.welcome.note"), d.Note
	}
	// Someone who has never signed in gets a link to set a first
	// password; everyone else signs in as usual.
	if e.Secret != "" {
		m.Action = &email.Link{Label: tr.T("email.setpassword.action"), URL: c.r.Link(paths.SetPassword(e.Secret))}
		m.After = []string{tr.T("email.setpassword.after", "Days", int(account.SetPasswordLifetime.Hours()/24))}
	} else {
		m.Action = &email.Link{Label: tr.T("email.subdomain.action"), URL: c.r.Link(paths.CLC)}
	}
	return m
}

// requestExpired tells the partner and the approvers nobody decided in time.
func (c composer) requestExpired() email.Message {
	tr, d := c.tr, c.d
	return email.Message{
		Subject:    tr.T("email.expired.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.expired.intro", "Requester", c.requester, "Account", d.AccountName, "Date", c.expires)},
		Details:    c.withID(),
		Footer:     c.footer,
	}
}

// requestWithdrawn tells the approvers the partner took the request back.
func (c composer) requestWithdrawn() email.Message {
	tr, d := c.tr, c.d
	return email.Message{
		Subject:    tr.T("email.withdrawn.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.withdrawn.intro", "Requester", c.requester, "Account", d.AccountName)},
		Details:    c.details(),
		Footer:     c.footer,
	}
}

// accessRequested asks an account's administrators to decide on an access request.
func (c composer) accessRequested() email.Message {
	tr, d := c.tr, c.d
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
		Details:    append(c.details(), email.Detail{Label: tr.T("email.detail.account_id"), Value: d.AccountID}),
		Action:     &email.Link{Label: tr.T("email.access.action"), URL: c.r.Link(paths.AccountPart(c.accountID, "access-requests"))},
		Footer:     c.footer,
	}
}

// accessDecided tells a user how their access request was decided.
func (c composer) accessDecided() email.Message {
	tr, e, d := c.tr, c.e, c.d
	role := tr.T("role." + string(d.Role))
	if d.VirtualAccount != "" {
		role = tr.T("access.role_on_va", "Role", role, "VirtualAccount", d.VirtualAccount)
	} else if e.Kind == account.EmailAccessApproved {
		role = tr.T("access.role_on_account", "Role", role)
	}
	m := email.Message{
		Greeting: tr.T("email.greeting"),
		Details:  c.withID(),
		Action:   &email.Link{Label: tr.T("email.access.action_directory"), URL: c.r.Link(paths.Directory)},
		Footer:   c.footer,
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
	return m
}

// accessMessage gives the requester, or the account's administrators, a
// message on an access request; the link opens the request for either.
func (c composer) accessMessage() email.Message {
	tr, d := c.tr, c.d
	return email.Message{
		Subject:    tr.T("email.access_message.subject", "Account", d.AccountName),
		Greeting:   tr.T("email.greeting"),
		Paragraphs: []string{tr.T("email.access_message.intro", "Actor", d.Actor, "Requester", d.RequesterName+" <"+d.RequesterEmail+">", "Account", d.AccountName)},
		NoteLabel:  tr.T("email.message.note"),
		Note:       d.Note,
		Details:    c.withID(),
		Action:     &email.Link{Label: tr.T("email.access_message.action"), URL: c.r.Link(paths.AccessRequestConversation(c.accountID, d.RequestID))},
		Footer:     c.footer,
	}
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
