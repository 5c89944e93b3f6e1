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
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
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
	// The plural probe (see pluralForm), in every language.
	for _, t := range b.LanguageTags() {
		if err := b.AddMessages(t, &goi18n.Message{ID: pluralProbe,
			Zero: "zero", One: "one", Two: "two", Few: "few", Many: "many", Other: "other"}); err != nil {
			return nil, err
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
		tr.layouts = layoutsOf(own, english)
		tr.plurals = pluralLayoutsOf(own)
		c.translators[t] = tr
	}
	return c, nil
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
	// layouts holds each message that has no plural forms and whose
	// template only writes fields, rendered once (layoutsOf).
	layouts map[string]layout
	// plurals holds, the same way, each message of the language's own
	// catalog that has plural forms, a layout per form (pluralLayoutsOf).
	plurals map[string]map[string]layout
	// forms caches pluralForm of the counts below its length, each
	// filled on first use: go-i18n takes 4 µs to choose a form.
	forms [1024]atomic.Pointer[string]
}

// layout is a message cut into its literal text and its fields.
type layout []layoutPart

// layoutPart is literal text, or the value of field.
type layoutPart struct{ text, field string }

// layoutsOf cuts, once, each message of the language (or of English, where
// the language lacks it, as go-i18n falls back) that has no plural forms
// and whose template actions only write fields (cutLayout). A page writes
// dozens of messages per row, and each Localize call matched the language
// again and ran a template: 277 ns for a plain message, 8.5 µs for a date,
// a tenth to a fifth of a page's CPU.
func layoutsOf(own, english map[string]any) map[string]layout {
	out := make(map[string]layout, len(english))
	for id, fallback := range english {
		raw, ok := own[id]
		if !ok {
			raw = fallback
		}
		if text, ok := raw.(string); ok {
			if l, ok := cutLayout(text); ok {
				out[id] = l
			}
		}
	}
	return out
}

// cutLayout cuts a message's template into its literal text and its
// fields, when its only actions write a field ({{.Name}}): what
// text/template writes for it is then that text with the fields' values.
func cutLayout(text string) (layout, bool) {
	if strings.Contains(simpleAction.ReplaceAllString(text, ""), "{{") {
		return nil, false
	}
	var l layout
	at := 0
	for _, m := range simpleAction.FindAllStringSubmatchIndex(text, -1) {
		if m[0] > at {
			l = append(l, layoutPart{text: text[at:m[0]]})
		}
		l = append(l, layoutPart{field: text[m[2]:m[3]]})
		at = m[1]
	}
	if at < len(text) {
		l = append(l, layoutPart{text: text[at:]})
	}
	return l, true
}

// fill writes the layout with the values of kv's fields, as text/template
// writes them; a field kv lacks is "<no value>", as text/template has it.
func (l layout) fill(kv []any) string {
	if len(l) == 1 && l[0].field == "" {
		return l[0].text
	}
	var b strings.Builder
	for _, p := range l {
		if p.field == "" {
			b.WriteString(p.text)
			continue
		}
		v, ok := any("<no value>"), false
		for i := 0; i+1 < len(kv) && !ok; i += 2 {
			if k, _ := kv[i].(string); k == p.field {
				v, ok = kv[i+1], true
			}
		}
		switch v := v.(type) {
		case string:
			b.WriteString(v)
		case int:
			b.WriteString(strconv.Itoa(v))
		default:
			fmt.Fprint(&b, v)
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
	return t.T("date.format", "Day", at.Day(), "Month", t.T(fmt.Sprintf("date.month.%d", at.Month())), "Year", at.Year())
}

// DateTime is Date with the time of day, in UTC (the portal's people are in
// many time zones, and an approver compares it with an email's dates).
func (t *Translator) DateTime(at time.Time) string {
	at = at.UTC()
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
	if l, ok := t.layouts[id]; ok && count == nil {
		return l.fill(kv)
	}
	if forms, ok := t.plurals[id]; ok && count != nil {
		if l, ok := forms[t.pluralForm(count)]; ok {
			return l.fill(kv)
		}
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

// simpleAction is a template action that only writes a field: {{.Name}}.
var simpleAction = regexp.MustCompile(`\{\{\s*\.([A-Za-z][A-Za-z0-9_]*)\s*\}\}`)

// pluralProbe is a message Load adds to every language whose forms are
// their own names ("one", "many", ...): rendered with a count, it says
// which form go-i18n's CLDR rules choose for that count in that language.
const pluralProbe = "i18n.plural_form"

// pluralForm is the plural form (CLDR's name) of count in t's language.
func (t *Translator) pluralForm(count any) string {
	n, ok := count.(int)
	if !ok || n < 0 || n >= len(t.forms) {
		return t.probeForm(count)
	}
	if form := t.forms[n].Load(); form != nil {
		return *form
	}
	form := t.probeForm(n)
	t.forms[n].Store(&form)
	return form
}

func (t *Translator) probeForm(count any) string {
	form, err := t.loc.Localize(&goi18n.LocalizeConfig{MessageID: pluralProbe, PluralCount: count})
	if err != nil {
		return ""
	}
	return form
}

// pluralLayoutsOf cuts each form of each message of own that has plural
// forms into a layout, as layoutsOf does for the others (cutLayout); a
// message with any form whose template does more is left to go-i18n. N
// then chooses the form (pluralForm) and fills its layout: go-i18n ran the
// form's template on every call, 3% of a signed-in page's CPU for the
// menu's one count.
func pluralLayoutsOf(own map[string]any) map[string]map[string]layout {
	out := map[string]map[string]layout{}
messages:
	for id, raw := range own {
		forms, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		layouts := make(map[string]layout, len(forms))
		for form, v := range forms {
			text, ok := v.(string)
			if !ok {
				continue messages
			}
			if layouts[form], ok = cutLayout(text); !ok {
				continue messages
			}
		}
		out[id] = layouts
	}
	return out
}
