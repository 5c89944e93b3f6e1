// Package i18n holds the portal's message catalogs and picks a language per
// request. Every user-facing string goes through it; go-i18n applies CLDR's
// plural rules.
package i18n

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.toml
var localeFiles embed.FS

// Catalog is every language's messages.
type Catalog struct {
	bundle  *goi18n.Bundle
	tags    []language.Tag
	matcher language.Matcher
	log     *slog.Logger
}

// Load reads the embedded catalogs; English is the fallback.
func Load(log *slog.Logger) (*Catalog, error) {
	b := goi18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	files, err := fs.Glob(localeFiles, "locales/*.toml")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := localeFiles.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if _, err := b.ParseMessageFileBytes(data, path.Base(f)); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", f, err)
		}
	}
	// English first: the matcher falls back to its first tag.
	tags := []language.Tag{language.English}
	for _, t := range b.LanguageTags() {
		if t != language.English {
			tags = append(tags, t)
		}
	}
	return &Catalog{bundle: b, tags: tags, matcher: language.NewMatcher(tags), log: log}, nil
}

// Languages lists the catalog's languages, English first.
func (c *Catalog) Languages() []language.Tag { return c.tags }

// Supported reports whether lang is one of the catalog's languages.
func (c *Catalog) Supported(lang string) bool {
	for _, t := range c.tags {
		if t.String() == lang {
			return true
		}
	}
	return false
}

// Match picks the best language for a stated choice, then an Accept-Language
// header.
func (c *Catalog) Match(choice, acceptLanguage string) language.Tag {
	if choice != "" && c.Supported(choice) {
		return language.Make(choice)
	}
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return c.tags[0]
	}
	_, i, _ := c.matcher.Match(prefs...)
	return c.tags[i]
}

// Translator renders messages in one language.
type Translator struct {
	lang language.Tag
	loc  *goi18n.Localizer
	log  *slog.Logger
}

// Translator returns a Translator for lang.
func (c *Catalog) Translator(lang language.Tag) *Translator {
	return &Translator{lang: lang, loc: goi18n.NewLocalizer(c.bundle, lang.String()), log: c.log}
}

// Lang is the translator's language, e.g. "en".
func (t *Translator) Lang() string { return t.lang.String() }

// T renders message id with optional key/value pairs for its template:
// T("greeting", "Name", "Ada").
func (t *Translator) T(id string, kv ...any) string {
	return t.render(id, nil, kv)
}

// N renders a message with plural forms chosen by count; {{.Count}} is set.
func (t *Translator) N(id string, count int, kv ...any) string {
	return t.render(id, count, append(kv, "Count", count))
}

func (t *Translator) render(id string, count any, kv []any) string {
	var data map[string]any
	if len(kv) > 0 {
		data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			data[fmt.Sprint(kv[i])] = kv[i+1]
		}
	}
	s, err := t.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil {
		// A missing message shows its id rather than failing the page; the
		// catalog test catches it before it ships.
		t.log.Warn("missing message", "id", id, "lang", t.lang.String(), "err", err)
		if s == "" {
			return id
		}
	}
	return s
}

type ctxKey struct{}

// With returns ctx carrying t, so templates can translate.
func With(ctx context.Context, t *Translator) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// From returns the ctx's Translator, or nil.
func From(ctx context.Context) *Translator {
	t, _ := ctx.Value(ctxKey{}).(*Translator)
	return t
}

// T translates id in ctx's language; templates call it.
func T(ctx context.Context, id string, kv ...any) string {
	if t := From(ctx); t != nil {
		return t.T(id, kv...)
	}
	return id
}

// N translates a plural message in ctx's language.
func N(ctx context.Context, id string, count int, kv ...any) string {
	if t := From(ctx); t != nil {
		return t.N(id, count, kv...)
	}
	return id
}

// Lang is ctx's language, "en" when unset.
func Lang(ctx context.Context) string {
	if t := From(ctx); t != nil {
		return t.Lang()
	}
	return "en"
}

// IDs lists every message id of the fallback catalog, for tests that check
// the others are complete.
func IDs() ([]string, error) {
	data, err := localeFiles.ReadFile("locales/en.toml")
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(m))
	for k := range m {
		ids = append(ids, k)
	}
	return ids, nil
}
