package server

import (
	"io/fs"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/clc-portal/clc/web"
)

// routes is the whole route table.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestID, s.accessLog, s.recoverer, securityHeaders, s.crossOriginProtection)

	static, _ := fs.Sub(web.Static, "static")
	r.Handle("/static/*", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)

	// Everything below has a session and a language.
	r.Group(func(r chi.Router) {
		r.Use(s.sessions.LoadAndSave, s.loadUser, s.language)
		r.NotFound(s.h(s.notFound))
		r.MethodNotAllowed(s.h(s.methodNotAllowed))

		r.Get("/", s.h(s.home))
		r.Get("/login", s.h(s.loginForm))
		r.Post("/login", s.h(s.login))
		r.Post("/logout", s.h(s.logout))
		r.Post("/language", s.h(s.setLanguage))

		r.Group(func(r chi.Router) {
			r.Use(s.requireUser)
			r.Get("/clc", s.h(s.clcHome))
			r.Get("/clc/directory", s.h(s.directory))
			r.Get("/clc/search", s.h(s.search))
			r.Get("/clc/accounts/{id}", s.h(s.accountPage))
			r.Get("/clc/accounts/{id}/request-access", s.h(s.requestAccessForm))
			r.Post("/clc/accounts/{id}/request-access", s.h(s.requestAccess))
		})
	})
	return r
}
