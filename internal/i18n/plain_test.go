package i18n

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
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

// Dates written from the layouts made at Load are what the catalog's
// templates write, in every language and every month.
func TestDateLayoutsWriteWhatTheTemplatesWrite(t *testing.T) {
	c, err := Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range c.Languages() {
		tr := c.Translator(tag)
		if tr.dateLayout == nil || tr.dateTimeLayout == nil {
			t.Fatalf("%s: no date layouts", tag)
		}
		for m := 1; m <= 12; m++ {
			at := time.Date(2026+m, time.Month(m), 2*m, m, 7*m, 0, 0, time.UTC)
			month := tr.T(fmt.Sprintf("date.month.%d", m))
			wantDate := tr.render("date.format", nil, []any{"Day", at.Day(), "Month", month, "Year", at.Year()})
			if got := tr.Date(at); got != wantDate {
				t.Errorf("%s: Date %q, the template writes %q", tag, got, wantDate)
			}
			want := tr.render("date.time_format", nil, []any{"Date", wantDate, "Time", at.Format("15:04")})
			if got := tr.DateTime(at); got != want {
				t.Errorf("%s: DateTime %q, the template writes %q", tag, got, want)
			}
		}
	}
	de := c.Translator(language.German)
	if got := de.DateTime(time.Date(2026, 12, 2, 9, 5, 0, 0, time.UTC)); got != "2. Dezember 2026, 09:05 Uhr UTC" {
		t.Errorf("German: %q", got)
	}
}
