package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Routes lists every route of the server's router as "METHOD pattern", for
// the test that holds the API's routes to its OpenAPI document.
func Routes(s *Server) ([]string, error) {
	var out []string
	err := chi.Walk(s.handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, method+" "+route)
		return nil
	})
	return out, err
}

// Routed reports whether the server's router has a route for method and
// path, whatever that route then answers.
func Routed(s *Server, method, path string) bool {
	return s.handler.(chi.Routes).Match(chi.NewRouteContext(), method, path)
}
