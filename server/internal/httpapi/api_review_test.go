package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestMetricsMethodsBounded: arbitrary client methods must not create new
// metric series, or anyone could grow the server's memory without bound.
func TestMetricsMethodsBounded(t *testing.T) {
	s := newTestServer(t, testdb.SQLite(t))
	for _, m := range []string{"FOO1", "FOO2", "FOO3"} {
		s.Do(t, m, "/x", "", nil)
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
	s.Do(t, "PATCH", s.Path(""), s.SKLive, map[string]any{"allowed_origins": []string{"https://shop.example"}}).Want(t, 200)
	lib := "/api/library/" + s.Team.Slug + "/categories"
	r := s.Do(t, "GET", lib, s.PKLive, nil, "Origin", "https://evil.example").WantError(t, 403, "Origin not allowed for this publishable key")
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("Access-Control-Allow-Origin = %q on a refused origin, want none", got)
	}
	r = s.Do(t, "GET", s.Path("/categories"), s.PKLive, nil, "Origin", "https://evil.example").Want(t, 403)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("/api/v1: Access-Control-Allow-Origin = %q on a refused origin, want none", got)
	}
	s.Do(t, "GET", lib, s.PKLive, nil, "Origin", "https://shop.example").Want(t, 200)
	// The list is live's: a test key is not bound by it.
	s.Do(t, "GET", lib, s.PKTest, nil, "Origin", "https://evil.example").Want(t, 200)
	// A publishable key refused for another reason still lets the page read why.
	r = s.Do(t, "POST", s.Path("/tickets"), s.PKLive, map[string]any{"subject": "x"}, "Origin", "https://shop.example").Want(t, 403)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
		t.Fatalf("Access-Control-Allow-Origin = %q on a read-only refusal, want the page's origin", got)
	}
}

// TestLibraryBadKeySpendsInvalidBudget: guessing keys through the Library
// costs the same per-IP invalid-key budget as on /api/v1.
func TestLibraryBadKeySpendsInvalidBudget(t *testing.T) {
	s := newTestServer(t, testdb.SQLite(t), apptest.Limits(100, 100, 100, 2))
	bad := s.PKLive[:len(s.PKLive)-1] + "x"
	if s.PKLive[len(s.PKLive)-1] == 'x' {
		bad = s.PKLive[:len(s.PKLive)-1] + "y"
	}
	lib := "/api/library/" + s.Team.Slug + "/categories"
	s.Do(t, "GET", lib, bad, nil).Want(t, 401)
	s.Do(t, "GET", s.Path(""), bad, nil).Want(t, 401)
	s.Do(t, "GET", lib, bad, nil).WantError(t, 429, "Rate limit exceeded")
}

// TestKeyUsageCanonicalID: the usage of a key asked for by an upper-case id
// is that key's usage, under its canonical id.
func TestKeyUsageCanonicalID(t *testing.T) {
	s := newTestServer(t, testdb.SQLite(t))
	id := s.Team.Keys["sk_live"].ID
	s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil).Want(t, 200)
	d := s.Do(t, "GET", s.Path("/api-keys/"+strings.ToUpper(id)+"/usage"), s.SKLive, nil).Want(t, 200).Data(t)
	if d["key_id"] != id {
		t.Fatalf("key_id = %v, want %s", d["key_id"], id)
	}
	if tot := d["totals"].(map[string]any)["requests"].(float64); tot < 1 {
		t.Fatalf("totals.requests = %v, want at least 1", tot)
	}
}
