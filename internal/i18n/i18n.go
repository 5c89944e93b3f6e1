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
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

//go:embed locales/*.toml
var localeFiles embed.FS

// Catalog is every language's messages.
type Catalog struct {
	bundle  *goi18n.Bundle
	tags    []language.Tag
	matcher language.Matcher
	log     *slog.Logger
	// translators holds one Translator per language, made at Load: a
	// Translator only reads, and making one per request (the chooser's
	// names, from CLDR, and a Localizer) was 7% of a page's CPU.
	translators map[language.Tag]*Translator
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
	c := &Catalog{bundle: b, tags: tags, matcher: language.NewMatcher(tags), log: log, translators: map[language.Tag]*Translator{}}
	choices := c.Choices()
	english, err := Messages(language.English.String())
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		own, err := Messages(t.String())
		if err != nil {
			return nil, err
		}
		tr := c.newTranslator(t, choices)
		tr.plain = plainMessages(tr.loc, own, english)
		tr.dateLayout = tr.layoutOf("date.format", "Day", "Month", "Year")
		tr.dateTimeLayout = tr.layoutOf("date.time_format", "Date", "Time")
		c.translators[t] = tr
	}
	return c, nil
}

// plainMessages renders, once, each message of a language (or of English,
// where the language lacks it, as go-i18n falls back) that has no template
// action and no plural forms: the same text whatever a page passes. A page
// asks for dozens of them per row, and each Localize call matched the
// language again (a tenth of the directory's CPU).
func plainMessages(loc *goi18n.Localizer, own, english map[string]any) map[string]string {
	plain := make(map[string]string, len(english))
	for id, fallback := range english {
		raw, ok := own[id]
		if !ok {
			raw = fallback
		}
		text, ok := raw.(string)
		if !ok || strings.Contains(text, "{{") {
			continue
		}
		if s, err := loc.Localize(&goi18n.LocalizeConfig{MessageID: id}); err == nil {
			plain[id] = s
		}
	}
	return plain
}

// Languages lists the catalog's languages, English first.
func (c *Catalog) Languages() []language.Tag { return c.tags }

// Language is one of the catalog's languages as a chooser offers it.
type Language struct {
	Code string // "de"
	Name string // in its own language, as its speakers capitalise a menu entry: "Deutsch", "Français"
}

// Choices lists the catalog's languages, each named in itself (CLDR's names,
// by golang.org/x/text), English first.
func (c *Catalog) Choices() []Language {
	out := make([]Language, 0, len(c.tags))
	for _, t := range c.tags {
		out = append(out, Language{Code: t.String(), Name: cases.Title(t).String(display.Self.Name(t))})
	}
	return out
}

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
	lang    language.Tag
	loc     *goi18n.Localizer
	log     *slog.Logger
	choices []Language
	// plain holds the messages whose text needs no data (plainMessages).
	plain map[string]string
	// dateLayout and dateTimeLayout are date.format and date.time_format
	// rendered once (layoutOf); nil on a Translator made outside Load.
	dateLayout, dateTimeLayout layout
}

// layout is a message rendered once with a marker for each of its fields,
// then cut at the markers: a page writes dozens of dates, and a template run
// for each (two, with the month) was a tenth of the account page's CPU.
type layout []layoutPart

// layoutPart is literal text, or (field >= 0) the value of one field.
type layoutPart struct {
	text  string
	field int
}

// marker stands for field i while the message renders; no catalog text
// holds the byte 0.
func marker(i int) string { return "\x00" + string(rune('0'+i)) }

// layoutOf renders message id with a marker for each field, in order.
func (t *Translator) layoutOf(id string, fields ...string) layout {
	kv := make([]any, 0, 2*len(fields))
	for i, f := range fields {
		kv = append(kv, f, marker(i))
	}
	rendered := t.render(id, nil, kv)
	var out layout
	for rendered != "" {
		i := strings.IndexByte(rendered, 0)
		if i < 0 || i+1 >= len(rendered) {
			out = append(out, layoutPart{text: rendered, field: -1})
			break
		}
		if i > 0 {
			out = append(out, layoutPart{text: rendered[:i], field: -1})
		}
		out = append(out, layoutPart{field: int(rendered[i+1] - '0')})
		rendered = rendered[i+2:]
	}
	return out
}

// fill writes the layout with values, one per field.
func (l layout) fill(values ...string) string {
	var b strings.Builder
	for _, p := range l {
		if p.field < 0 {
			b.WriteString(p.text)
		} else {
			b.WriteString(values[p.field])
		}
	}
	return b.String()
}

// Translator returns a Translator for lang, shared by every request in that
// language.
func (c *Catalog) Translator(lang language.Tag) *Translator {
	if t, ok := c.translators[lang]; ok {
		return t
	}
	return c.newTranslator(lang, c.Choices())
}

func (c *Catalog) newTranslator(lang language.Tag, choices []Language) *Translator {
	return &Translator{lang: lang, loc: goi18n.NewLocalizer(c.bundle, lang.String()), log: c.log, choices: choices}
}

// Lang is the translator's language, e.g. "en".
func (t *Translator) Lang() string { return t.lang.String() }

// Choices lists the languages a person may switch to.
func (t *Translator) Choices() []Language { return t.choices }

// Date is the day of instant at in UTC, written as the language writes a
// date: the catalog's date.format orders the parts, its date.month.N names
// the month ("2 December 2026", "2. Dezember 2026").
func (t *Translator) Date(at time.Time) string {
	at = at.UTC()
	if t.dateLayout != nil {
		return t.dateLayout.fill(strconv.Itoa(at.Day()), t.T("date.month."+strconv.Itoa(int(at.Month()))), strconv.Itoa(at.Year()))
	}
	return t.T("date.format", "Day", at.Day(), "Month", t.T(fmt.Sprintf("date.month.%d", at.Month())), "Year", at.Year())
}

// DateTime is Date with the time of day, in UTC (the portal's people are in
// many time zones, and an approver compares it with an email's dates).
func (t *Translator) DateTime(at time.Time) string {
	at = at.UTC()
	if t.dateTimeLayout != nil {
		return t.dateTimeLayout.fill(t.Date(at), at.Format("15:04"))
	}
	return t.T("date.time_format", "Date", t.Date(at), "Time", at.Format("15:04"))
}

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
	if s, ok := t.plain[id]; ok && count == nil {
		return s
	}
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

// Date writes at's day in ctx's language; see Translator.Date.
func Date(ctx context.Context, at time.Time) string {
	if t := From(ctx); t != nil {
		return t.Date(at)
	}
	return at.UTC().Format(time.DateOnly)
}

// DateTime writes at in ctx's language; see Translator.DateTime.
func DateTime(ctx context.Context, at time.Time) string {
	if t := From(ctx); t != nil {
		return t.DateTime(at)
	}
	return at.UTC().Format("2006-01-02 15:04 UTC")
}

// Choices lists the languages ctx's person may switch to.
func Choices(ctx context.Context) []Language {
	if t := From(ctx); t != nil {
		return t.Choices()
	}
	return nil
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
	m, err := Messages("en")
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(m))
	for k := range m {
		ids = append(ids, k)
	}
	return ids, nil
}

// Messages reads one language's catalog file as it is written: each id with
// its text, or its plural forms by CLDR category ("one", "other"...).
func Messages(lang string) (map[string]any, error) {
	data, err := localeFiles.ReadFile("locales/" + lang + ".toml")
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", lang, err)
	}
	return m, nil
}

// Files lists the languages that have a catalog file, by file name.
func Files() ([]string, error) {
	files, err := fs.Glob(localeFiles, "locales/*.toml")
	if err != nil {
		return nil, err
	}
	langs := make([]string, 0, len(files))
	for _, f := range files {
		langs = append(langs, strings.TrimSuffix(path.Base(f), ".toml"))
	}
	return langs, nil
}
