package i18n

import (
	"log/slog"
	"testing"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// N's layouts say what go-i18n says: for every message with plural forms,
// in every language, for counts whose forms differ (0, 1, 2, the teens,
// a million, for French's "many"), with the fields the message writes.
func TestPluralLayoutsRenderAsGoI18n(t *testing.T) {
	c, err := Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	counts := []int{1_000_000, 2_000_000, 1_500_000, 10_000_000, 1_000_001}
	for n := range 1200 {
		counts = append(counts, n)
	}
	checked := 0
	for _, tag := range c.Languages() {
		tr := c.Translator(tag)
		own, err := Messages(tag.String())
		if err != nil {
			t.Fatal(err)
		}
		for id, raw := range own {
			if _, plural := raw.(map[string]any); !plural {
				continue
			}
			if _, ok := tr.plurals[id]; !ok {
				t.Errorf("%s: %s has no layouts", tag, id)
				continue
			}
			for _, n := range counts {
				got := tr.N(id, n, "Shown", 7)
				want, err := tr.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, PluralCount: n,
					TemplateData: map[string]any{"Shown": 7, "Count": n}})
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s: %s with %d is %q, go-i18n says %q", tag, id, n, got, want)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no message with plural forms was checked")
	}
}
