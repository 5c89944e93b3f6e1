package i18n_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"golang.org/x/text/language"
)

// placeholder finds a message's template fields: {{.Account}}.
var placeholder = regexp.MustCompile(`\{\{\s*\.([A-Za-z_]+)\s*\}\}`)

// forms is a message's texts: one for a plain message, one per plural
// category for a plural one.
func forms(v any) map[string]string {
	switch m := v.(type) {
	case string:
		return map[string]string{"": m}
	case map[string]any:
		out := map[string]string{}
		for k, s := range m {
			out[k], _ = s.(string)
		}
		return out
	}
	return nil
}

func fields(v any) map[string]bool {
	out := map[string]bool{}
	for _, s := range forms(v) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			out[m[1]] = true
		}
	}
	return out
}

// TestCatalogsAgree fails when any language lacks a message English has,
// has one English lacks, or uses a placeholder English does not give it.
// English is the reference every new page adds its keys to, so a key added
// there and not translated fails here, in every other language.
func TestCatalogsAgree(t *testing.T) {
	en, err := i18n.Messages("en")
	if err != nil {
		t.Fatal(err)
	}
	langs, err := i18n.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(langs) < 5 {
		t.Fatalf("catalogs %v: want English, German, French, Italian and Dutch", langs)
	}
	for _, lang := range langs {
		if lang == "en" {
			continue
		}
		msgs, err := i18n.Messages(lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range sortedKeys(en) {
			v, ok := msgs[id]
			if !ok {
				t.Errorf("%s.toml lacks %q", lang, id)
				continue
			}
			if _, plural := en[id].(map[string]any); plural != isPlural(v) {
				t.Errorf("%s.toml: %q is plural in one catalog and not in the other", lang, id)
			}
			want := fields(en[id])
			for f := range fields(v) {
				if !want[f] {
					t.Errorf("%s.toml: %q uses {{.%s}}, which English does not give it", lang, id, f)
				}
			}
		}
		for _, id := range sortedKeys(msgs) {
			if _, ok := en[id]; !ok {
				t.Errorf("%s.toml has %q, which en.toml lacks", lang, id)
			}
		}
	}
}

// TestEveryMessageRenders renders each message in each language, plural
// ones at counts that reach every CLDR category the language has (French
// and Italian have "many" for millions); go-i18n reports a missing form or
// a broken template, which the translator logs.
func TestEveryMessageRenders(t *testing.T) {
	var logged bytes.Buffer
	c, err := i18n.Load(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	en, err := i18n.Messages("en")
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range c.Languages() {
		tr := c.Translator(tag)
		for _, id := range sortedKeys(en) {
			var kv []any
			for f := range fields(en[id]) {
				if f != "Count" {
					kv = append(kv, f, "x")
				}
			}
			if isPlural(en[id]) {
				for _, n := range []int{0, 1, 2, 5, 21, 1000000} {
					tr.N(id, n, kv...)
				}
			} else {
				tr.T(id, kv...)
			}
		}
	}
	if logged.Len() > 0 {
		t.Errorf("messages failed to render:\n%s", logged.String())
	}
}

// TestLanguagesMatchTheDomain ties the domain's list of languages (what a
// user or a request may name) to the catalogs that exist.
func TestLanguagesMatchTheDomain(t *testing.T) {
	langs, err := i18n.Files()
	if err != nil {
		t.Fatal(err)
	}
	want := account.Languages()
	sort.Strings(langs)
	sort.Strings(want)
	if !slices.Equal(langs, want) {
		t.Errorf("catalogs %v, domain languages %v", langs, want)
	}
}

func TestDatesAndNames(t *testing.T) {
	c, err := i18n.Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, time.March, 2, 14, 5, 0, 0, time.FixedZone("CET", 3600))
	for lang, want := range map[string]string{
		"en": "2 March 2026, 13:05 UTC",
		"de": "2. März 2026, 13:05 Uhr UTC",
		"fr": "2 mars 2026, 13:05 UTC",
		"it": "2 marzo 2026, 13:05 UTC",
		"nl": "2 maart 2026, 13:05 UTC",
	} {
		if got := c.Translator(language.Make(lang)).DateTime(at); got != want {
			t.Errorf("%s: DateTime = %q, want %q", lang, got, want)
		}
	}
	var names []string
	for _, l := range c.Choices() {
		names = append(names, fmt.Sprintf("%s=%s", l.Code, l.Name))
	}
	if got := fmt.Sprint(names); got != "[en=English de=Deutsch fr=Français it=Italiano nl=Nederlands]" {
		t.Errorf("choices %s", got)
	}
	fr := c.Translator(language.French)
	if one, many := fr.N("clc.summary", 1), fr.N("clc.summary", 2); one == many {
		t.Errorf("French plural forms are the same: %q", one)
	}
}

func isPlural(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// One Translator per language serves every request in it, at once: each
// renders what a Translator of its own would, and a language the catalog
// lacks still gets one (that falls back to English).
func TestTranslatorsAreSharedByConcurrentRequests(t *testing.T) {
	c, err := i18n.Load(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	first, again := c.Translator(language.German), c.Translator(language.German)
	if first != again {
		t.Error("each request in German gets a Translator of its own")
	}
	want := map[language.Tag]string{}
	for _, tag := range c.Languages() {
		want[tag] = c.Translator(tag).N("clc.summary", 3)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				tag := c.Languages()[(i+j)%len(c.Languages())]
				if got := c.Translator(tag).N("clc.summary", 3); got != want[tag] {
					t.Errorf("%s: %q, want %q", tag, got, want[tag])
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := c.Translator(language.Japanese).N("clc.summary", 3); got != want[language.English] {
		t.Errorf("a language the catalog lacks: %q, want English %q", got, want[language.English])
	}
}
