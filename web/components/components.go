// Package components holds the pieces several pages draw the same way: a
// Smart Account's row, its administrators, a pager.
package components

// AccountRow is one Smart Account in the directory or in search results.
// Every string is ready to show.
type AccountRow struct {
	Href   string
	Name   string
	ID     string
	Domain string
	Status Status
	// Role is the viewer's role, or in the directory's "asked access"
	// section what they asked for and how it stands; "" shows nothing.
	Role string
	// ShowVirtualAccounts is false when the viewer may not see them.
	ShowVirtualAccounts bool
	VirtualAccounts     []VirtualAccount
	MoreVirtualAccounts string // e.g. "and 4 more"; "" when all are listed
	Admins              []Contact
	// RequestAccessHref links to "Request Access"; "" hides it.
	RequestAccessHref string
}

// Status is a Smart Account's status word and its kind, which picks the colour.
type Status struct {
	Word string // Active, Pending, Denied, Expired
	Kind string // active, pending, denied, expired
}

// VirtualAccount is one Virtual Account under a Smart Account, with the
// viewer's role on it ("" for none).
type VirtualAccount struct {
	Name string
	Role string
}

// Contact is an administrator to write to.
type Contact struct {
	Name  string
	Email string
}

// Pager links to the pages around one; an empty href hides its link.
type Pager struct {
	Label    string // names the list it pages, for screen readers
	Number   int
	PrevHref string
	NextHref string
}
