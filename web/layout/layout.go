// Package layout is the frame every page renders in: the head, the top bar
// and, for signed-in users, the left menu.
package layout

import "context"

// Page is what the layout needs from every page's view model.
type Page struct {
	Title string
	// Shell is set for signed-in pages; nil shows the public frame.
	Shell *Shell
	Flash string
}

// Shell is the signed-in frame: who is signed in and their Smart Account.
type Shell struct {
	UserName    string
	UserEmail   string
	AccountName string // the user's Smart Account shown at the top of the menu; "" when they have none
	Staff       bool
	Current     string // which menu entry is open, e.g. "directory"
	// Manage is the "Account Management" section, shown to Smart Account
	// Administrators only.
	Manage *Manage
}

// Manage is what the menu's "Account Management" shows.
type Manage struct {
	Pending int // pending access requests, for the badge
}

// Nav entries, so handlers and the menu agree on names.
const (
	NavHome      = "home"
	NavDirectory = "directory"
	NavSearch    = "search"
	NavOperator  = "operator"
	NavEmails    = "emails"
	NavSSO       = "sso"
	NavManage    = "manage"
	NavPending   = "pending_access"
	NavAPITokens = "api_tokens"
	NavWebhooks  = "webhooks"
	NavEventLog  = "event_log"
)

type returnPathKey struct{}

// WithReturnPath records where the language switcher sends the person back
// to: the page they are reading.
func WithReturnPath(ctx context.Context, path string) context.Context {
	return context.WithValue(ctx, returnPathKey{}, path)
}

func returnPath(ctx context.Context) string {
	p, _ := ctx.Value(returnPathKey{}).(string)
	return p
}
