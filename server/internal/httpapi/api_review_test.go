package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestMetricsMethodsBounded: arbitrary client methods must not create new
// metric series, or anyone could grow the server's memory without bound.
func TestMetricsMethodsBounded(t *testing.T) {
	s := newTestServer(t, testdb.SQLite(t))
	for _, m := range []string{"FOO1", "FOO2", "FOO3"} {
		s.do(t, m, "/x", "", nil)
	}
	res, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(body), "FOO") {
		t.Fatalf("metrics carry client-chosen methods:\n%s", body)
	}
	if !strings.Contains(string(body), `method="OTHER"`) {
		t.Fatalf(`got no method="OTHER" series, want unknown methods counted there`)
	}
}

// TestLibraryHonoursAllowedOrigins: a publishable key used on the public
// Library from an origin the team does not allow is refused, and the
// refusal carries no CORS allowance.
func TestLibraryHonoursAllowedOrigins(t *testing.T) {
	s := newTestServer(t, testdb.SQLite(t))
	s.do(t, "PATCH", s.path(""), s.SKLive, map[string]any{"allowed_origins": []string{"https://shop.example"}}).want(t, 200)
	lib := "/api/library/" + s.Team.Slug + "/categories"
	r := s.do(t, "GET", lib, s.PKTest, nil, "Origin", "https://evil.example").wantError(t, 403, "Origin not allowed for this publishable key")
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("Access-Control-Allow-Origin = %q on a refused origin, want none", got)
	}
	r = s.do(t, "GET", s.path("/categories"), s.PKLive, nil, "Origin", "https://evil.example").want(t, 403)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("/api/v1: Access-Control-Allow-Origin = %q on a refused origin, want none", got)
	}
	s.do(t, "GET", lib, s.PKTest, nil, "Origin", "https://shop.example").want(t, 200)
	// A publishable key refused for another reason still lets the page read why.
	r = s.do(t, "POST", s.path("/tickets"), s.PKLive, map[string]any{"subject": "x"}, "Origin", "https://shop.example").want(t, 403)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
		t.Fatalf("Access-Control-Allow-Origin = %q on a read-only refusal, want the page's origin", got)
	}
}

// TestLibraryBadKeySpendsInvalidBudget: guessing keys through the Library
// costs the same per-IP invalid-key budget as on /api/v1.
func TestLibraryBadKeySpendsInvalidBudget(t *testing.T) {
	s := newTestServer(t, testdb.SQLite(t), withLimits(100, 100, 100, 2))
	bad := s.PKLive[:len(s.PKLive)-1] + "x"
	if s.PKLive[len(s.PKLive)-1] == 'x' {
		bad = s.PKLive[:len(s.PKLive)-1] + "y"
	}
	lib := "/api/library/" + s.Team.Slug + "/categories"
	s.do(t, "GET", lib, bad, nil).want(t, 401)
	s.do(t, "GET", s.path(""), bad, nil).want(t, 401)
	s.do(t, "GET", lib, bad, nil).wantError(t, 429, "Rate limit exceeded")
}

// TestKeyUsageCanonicalID: the usage of a key asked for by an upper-case id
// is that key's usage, under its canonical id.
func TestKeyUsageCanonicalID(t *testing.T) {
	s := newTestServer(t, testdb.SQLite(t))
	id := s.Team.Keys["sk_live"].ID
	s.do(t, "GET", s.path("/tickets"), s.SKLive, nil).want(t, 200)
	d := s.do(t, "GET", s.path("/api-keys/"+strings.ToUpper(id)+"/usage"), s.SKLive, nil).want(t, 200).data(t)
	if d["key_id"] != id {
		t.Fatalf("key_id = %v, want %s", d["key_id"], id)
	}
	if tot := d["totals"].(map[string]any)["requests"].(float64); tot < 1 {
		t.Fatalf("totals.requests = %v, want at least 1", tot)
	}
}
