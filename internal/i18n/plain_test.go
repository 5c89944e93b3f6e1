package i18n

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Each message rendered once at Load writes what go-i18n writes on each
// call, in every language (English where a language lacks the message),
// whatever its fields hold; a message with plural forms is not among them,
// so N still chooses its form.
func TestLayoutsWriteWhatLocalizeWrites(t *testing.T) {
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
		if len(tr.layouts) < len(ids)*3/4 {
			t.Errorf("%s: %d of %d messages rendered at Load", tag, len(tr.layouts), len(ids))
		}
		for id, l := range tr.layouts {
			kv := []any{}
			data := map[string]any{}
			for i, p := range l {
				if _, seen := data[p.field]; p.field != "" && !seen {
					var v any = fmt.Sprintf("<%s %d>", p.field, i)
					if i%2 == 0 {
						v = 1000 + i
					}
					kv, data[p.field] = append(kv, p.field, v), v
				}
			}
			want, err := tr.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
			if got := tr.T(id, kv...); err != nil || got != want {
				t.Errorf("%s %s: %q, Localize writes %q (%v)", tag, id, got, want, err)
			}
		}
	}
	en := c.Translator(language.English)
	if got := en.T("login.throttled", "Seconds", 30); got != "Too many failed attempts. Try again in 30 seconds." {
		t.Errorf("login.throttled: %q", got)
	}
	if got := en.T("login.throttled"); got != "Too many failed attempts. Try again in <no value> seconds." {
		t.Errorf("login.throttled without its field: %q, as text/template writes it", got)
	}
	if _, ok := en.layouts["clc.summary"]; ok {
		t.Error("clc.summary, which has plural forms, was rendered at Load")
	}
}

// Dates are what the catalog's templates write, in every language and
// every month.
func TestDatesWriteWhatTheTemplatesWrite(t *testing.T) {
	c, err := Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	localize := func(tr *Translator, id string, data map[string]any) string {
		s, err := tr.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tag := range c.Languages() {
		tr := c.Translator(tag)
		for m := 1; m <= 12; m++ {
			at := time.Date(2026+m, time.Month(m), 2*m, m, 7*m, 0, 0, time.UTC)
			month := localize(tr, fmt.Sprintf("date.month.%d", m), nil)
			date := localize(tr, "date.format", map[string]any{"Day": at.Day(), "Month": month, "Year": at.Year()})
			if got := tr.Date(at); got != date {
				t.Errorf("%s: Date %q, the template writes %q", tag, got, date)
			}
			want := localize(tr, "date.time_format", map[string]any{"Date": date, "Time": at.Format("15:04")})
			if got := tr.DateTime(at); got != want {
				t.Errorf("%s: DateTime %q, the template writes %q", tag, got, want)
			}
		}
	}
	if got := c.Translator(language.German).DateTime(time.Date(2026, 12, 2, 9, 5, 0, 0, time.UTC)); got != "2. Dezember 2026, 09:05 Uhr UTC" {
		t.Errorf("German: %q", got)
	}
}
