// Package email renders the portal's emails: one typed view model, an HTML
// body with templ and a plain-text body from the same model.
package email

import (
	"strings"
)

// Message is an email's content, already in the recipient's language.
type Message struct {
	Lang       string
	Subject    string
	Greeting   string
	Paragraphs []string
	// Note is free text someone wrote for the recipient, quoted as written.
	NoteLabel string
	Note      string
	Details   []Detail
	Action    *Link
	After     []string // paragraphs after the action
	Footer    string
	// Colon joins a label to what follows in the plain text, as the
	// language writes it (French puts a no-break space before it); ": "
	// when unset.
	Colon string
}

// Detail is one labelled fact, such as the account's name.
type Detail struct{ Label, Value string }

// Link is the one thing the email asks the recipient to do.
type Link struct{ Label, URL string }

// Text is the plain-text alternative of m.
func Text(m Message) string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\n") }
	colon := m.Colon
	if colon == "" {
		colon = ": "
	}
	labelOnly := strings.TrimRight(colon, " ")
	if m.Greeting != "" {
		line(m.Greeting)
		line("")
	}
	for _, p := range m.Paragraphs {
		line(p)
		line("")
	}
	if m.Note != "" {
		line(m.NoteLabel + labelOnly)
		for _, l := range strings.Split(m.Note, "\n") {
			line("> " + l)
		}
		line("")
	}
	for _, d := range m.Details {
		line(d.Label + colon + d.Value)
	}
	if len(m.Details) > 0 {
		line("")
	}
	if m.Action != nil {
		line(m.Action.Label + labelOnly)
		line(m.Action.URL)
		line("")
	}
	for _, p := range m.After {
		line(p)
		line("")
	}
	if m.Footer != "" {
		line("-- ")
		line(m.Footer)
	}
	return b.String()
}
