package server

import (
	"context"
	"net/http"

	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
)

// languageChoices offers the portal's languages, each named in itself.
func languageChoices(ctx context.Context) []components.Choice {
	var out []components.Choice
	for _, l := range i18n.Choices(ctx) {
		c := components.Choice{Value: l.Code, Label: l.Name}
		if l.Code != i18n.Lang(ctx) {
			c.Lang = l.Code
		}
		out = append(out, c)
	}
	return out
}

// languageName is a language's name in itself ("Français"), or its code
// when the portal lacks it.
func languageName(ctx context.Context, code string) string {
	for _, l := range i18n.Choices(ctx) {
		if l.Code == code {
			return l.Name
		}
	}
	return code
}

// language picks the request's language: the choice made in this session,
// then the user's saved choice, then the browser's Accept-Language.
func (s *Server) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		choice := s.sessions.GetString(r.Context(), sessionLang)
		if u, ok := currentUser(r.Context()); ok && choice == "" {
			choice = u.Language
		}
		tag := s.catalog.Match(choice, r.Header.Get("Accept-Language"))
		w.Header().Set("Content-Language", tag.String())
		w.Header().Add("Vary", "Accept-Language")
		ctx := i18n.With(r.Context(), s.catalog.Translator(tag))
		// A page answering a POST (a form shown again) cannot be fetched
		// again by its address, nor one whose query is past maxQuery (its
		// refusal would carry the query back); their switchers return to
		// the default page.
		if r.Method == http.MethodGet && len(r.URL.RawQuery) <= maxQuery {
			ctx = layout.WithReturnPath(ctx, r.URL.RequestURI())
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// setLanguage records the person's language choice for this session and,
// when signed in, for their account.
func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) error {
	lang := r.PostFormValue("lang")
	if !s.catalog.Supported(lang) {
		lang = ""
	}
	s.sessions.Put(r.Context(), sessionLang, lang)
	if u, ok := currentUser(r.Context()); ok {
		if err := s.accounts.SetLanguage(r.Context(), u.ID, lang); err != nil {
			return err
		}
	}
	return redirect(w, r, localPath(r.PostFormValue("next")))
}
