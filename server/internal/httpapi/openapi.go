package httpapi

import (
	"bytes"
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3.1 document of every route (routes.go): the
// API, the widget API, the Library API and the operations endpoints, with
// the webhook events. TestOpenAPIRoutes holds it to the routes, and the API
// tests validate every answer they get against it.
func OpenAPI() []byte { return bytes.Clone(openAPIDoc) }

// openAPI serves the document to anyone, from any origin: generators and
// API explorers fetch it.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "public, max-age=300")
	w.Write(openAPIDoc)
}
