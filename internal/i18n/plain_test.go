package i18n

import (
	"log/slog"
	"testing"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// The messages rendered once at Load are what go-i18n renders on each call,
// in every language, English where a language lacks one; a message with a
// template action or plural forms is not among them, and so still gets its
// data.
func TestPlainMessagesAreWhatLocalizeRenders(t *testing.T) {
	c, err := Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := IDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range c.Languages() {
		tr := c.Translator(tag)
		if len(tr.plain) < len(ids)/2 {
			t.Errorf("%s: %d of %d messages rendered at Load", tag, len(tr.plain), len(ids))
		}
		for _, id := range ids {
			want, err := tr.loc.Localize(&goi18n.LocalizeConfig{MessageID: id})
			if s, ok := tr.plain[id]; ok && (err != nil || s != want) {
				t.Errorf("%s %s: %q rendered at Load, %q (%v) by Localize", tag, id, s, want, err)
			}
		}
	}
	en := c.Translator(c.Languages()[0])
	if _, ok := en.plain["login.throttled"]; ok {
		t.Error("login.throttled, a template, was rendered without its data")
	}
	if got := en.T("login.throttled", "Seconds", 30); got != "Too many failed attempts. Try again in 30 seconds." {
		t.Errorf("login.throttled: %q", got)
	}
	if got := en.T("nav.logout"); got != "Log Out" {
		t.Errorf("nav.logout: %q", got)
	}
}
