package httpapi_test

// The OpenAPI document (openapi.json, served at /openapi.json) is held to the
// server two ways: TestOpenAPIRoutes compares its operations with the routes
// registered in routes.go, and TestMain makes apptest's Do validate every
// answer any test in this package gets against it.
//
// The validator is pb33f's libopenapi-validator: it supports OpenAPI 3.1
// (JSON Schema 2020-12: type arrays for null, const, unevaluated…), validates
// responses by status code and content type against the operation's schema
// with format assertions, and is actively maintained, where the older
// kin-openapi still targets 3.0.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/httpapi"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

var spec struct {
	sync.Mutex
	v validator.Validator
}

func TestMain(m *testing.M) {
	doc, err := libopenapi.NewDocument(httpapi.OpenAPI())
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi.json:", err)
		os.Exit(1)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		fmt.Fprintln(os.Stderr, "openapi.json:", errs)
		os.Exit(1)
	}
	spec.v = v
	apptest.CheckResponses(checkResponse)
	os.Exit(m.Run())
}

// checkResponse fails the test when an answer does not match the document.
// Requests to paths or methods the document does not have (tests of unknown
// routes) are left out: TestOpenAPIRoutes holds the document to the routes.
func checkResponse(t testing.TB, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	if req.Method == http.MethodHead || req.Method == http.MethodOptions {
		return
	}
	spec.Lock()
	ok, errs := spec.v.ValidateHttpResponse(req, res)
	spec.Unlock()
	if ok {
		return
	}
	var msgs []string
	for _, e := range errs {
		if e.IsPathMissingError() || e.IsOperationMissingError() {
			continue
		}
		m := e.Message
		if e.Reason != "" {
			m += ": " + e.Reason
		}
		for _, s := range e.SchemaValidationErrors {
			m += fmt.Sprintf("\n    %s: %s", s.FieldPath, s.Reason)
		}
		msgs = append(msgs, m)
	}
	if len(msgs) > 0 {
		t.Errorf("%s %s answered %d, which openapi.json does not allow:\n  %s\n  body: %.600s",
			req.Method, req.URL.Path, res.StatusCode, strings.Join(msgs, "\n  "), body)
	}
}

// TestOpenAPIDocument: the document is valid OpenAPI 3.1.
func TestOpenAPIDocument(t *testing.T) {
	spec.Lock()
	ok, errs := spec.v.ValidateDocument()
	spec.Unlock()
	if !ok {
		for _, e := range errs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, s := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", s.FieldPath, s.Reason)
			}
		}
	}
	var d map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI(), &d); err != nil || d["openapi"] != "3.1.0" {
		t.Errorf("openapi: got %v (%v), want 3.1.0", d["openapi"], err)
	}
}

// TestOpenAPIRoutes: every route the server registers is an operation of
// the document, and every operation of the document a route.
func TestOpenAPIRoutes(t *testing.T) {
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &d); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for p, ops := range d.Paths {
		for m := range ops {
			switch m {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				documented = append(documented, strings.ToUpper(m)+" "+p)
			}
		}
	}
	var routed []string
	for _, r := range httpapi.New(httpapi.Deps{}).Routes() {
		// The one prefix route: the mux's "/widget/" is the document's
		// "/widget/{file}".
		if strings.HasSuffix(r, "/") {
			r += "{file}"
		}
		routed = append(routed, r)
	}
	slices.Sort(documented)
	slices.Sort(routed)
	for _, r := range routed {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, o := range documented {
		if !slices.Contains(routed, o) {
			t.Errorf("openapi.json names %s, which the server does not route", o)
		}
	}
	if len(routed) < 60 {
		t.Errorf("routes: got %d, want them all", len(routed))
	}
}

// TestOpenAPIServed: the document is served as is, to any origin.
func TestOpenAPIServed(t *testing.T) {
	s := newTestServer(t, testdb.URL(t, "sqlite"))
	r := s.Do(t, "GET", "/openapi.json", "", nil).Want(t, 200)
	if string(r.Raw) != string(httpapi.OpenAPI()) {
		t.Error("/openapi.json is not the document in the repository")
	}
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin: got %q, want *", got)
	}
}

// TestOpenAPICatches: the validation sees a wrong answer: a field of the
// wrong type, an undocumented field, a missing one, an error without the
// envelope.
func TestOpenAPICatches(t *testing.T) {
	const teamPath = "/api/v1/teams/acme"
	good := `{"success":true,"data":{"id":"01a2206a-e1c7-7cbd-b02c-8b6cb78361c8","slug":"acme","name":"Acme","created_at":"2026-11-28T04:29:34Z"}}`
	for _, c := range []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"good", 200, good, true},
		{"good error", 404, `{"success":false,"error":"Customer not found","code":"not_found","request_id":"req_1"}`, true},
		{"wrong type", 200, strings.Replace(good, `"name":"Acme"`, `"name":7`, 1), false},
		{"undocumented field", 200, strings.Replace(good, `"name":"Acme"`, `"name":"Acme","secret":"x"`, 1), false},
		{"missing field", 200, strings.Replace(good, `"slug":"acme",`, ``, 1), false},
		{"not a uuid", 200, strings.Replace(good, `01a2206a-e1c7-7cbd-b02c-8b6cb78361c8`, `42`, 1), false},
		{"error without envelope", 500, `{"message":"boom"}`, false},
		{"unknown code", 400, `{"success":false,"error":"x","code":"oops"}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://127.0.0.1"+teamPath, nil)
			res := &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
				Body: io.NopCloser(strings.NewReader(c.body)), Request: req}
			spec.Lock()
			ok, errs := spec.v.ValidateHttpResponse(req, res)
			spec.Unlock()
			if ok != c.ok {
				t.Errorf("valid: got %v (%d errors), want %v", ok, len(errs), c.ok)
			}
		})
	}
}
