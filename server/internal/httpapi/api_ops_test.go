package httpapi_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// TestAPIRequestID: every response, whatever its status, carries an
// X-Request-Id; a sane incoming one is kept.
func TestAPIRequestID(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Limits(0, 0, 0, 2))
		cases := []struct {
			name, method, path, key string
			body                    any
			status                  int
		}{
			{"healthz", "GET", "/healthz", "", nil, 200},
			{"readyz", "GET", "/readyz", "", nil, 200},
			{"metrics", "GET", "/metrics", "", nil, 200},
			{"200", "GET", s.Path("/tickets"), s.SKLive, nil, 200},
			{"201", "POST", s.Path("/tickets"), s.SKLive, map[string]any{"subject": "x"}, 201},
			{"400", "POST", s.Path("/tickets"), s.SKLive, `{`, 400},
			{"401", "GET", s.Path("/tickets"), "", nil, 401},
			{"401 again", "GET", s.Path("/tickets"), "", nil, 401},
			{"429", "GET", s.Path("/tickets"), "", nil, 429},
			{"403", "GET", s.Path("/tickets"), s.PKLive, nil, 403},
			{"404 id", "GET", s.Path("/tickets/00000000-0000-7000-8000-000000000000"), s.SKLive, nil, 404},
			{"404 route", "GET", "/nope", "", nil, 404},
			{"405", "POST", "/healthz", "", nil, 405},
			{"413", "POST", s.Path("/tickets"), s.SKLive, `{"subject":"` + strings.Repeat("a", 1<<20) + `"}`, 413},
			{"415", "POST", s.Path("/tickets"), s.SKLive, `{}`, 415},
			{"preflight", "OPTIONS", s.Path("/tickets"), "", nil, 204},
			{"library", "GET", "/api/library/" + s.Team.Slug + "/articles", "", nil, 200},
		}
		hdrs := map[string][]string{"415": {"Content-Type", "text/plain"}}
		seen := map[string]string{}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, c.method, c.path, c.key, c.body, hdrs[c.name]...)
				if r.Status != c.status {
					t.Fatalf("status: got %d, want %d (%s)", r.Status, c.status, r)
				}
				id := r.Header.Get("X-Request-Id")
				if !requestIDRE.MatchString(id) {
					t.Fatalf("X-Request-Id: got %q, want an ID", id)
				}
				if prev, dup := seen[id]; dup {
					t.Errorf("X-Request-Id %q repeats (also on %s)", id, prev)
				}
				seen[id] = c.name
				if r.Status >= 400 && str(r.Body["request_id"]) != id {
					t.Errorf("request_id in body: got %v, want %q", r.Body["request_id"], id)
				}
			})
		}

		t.Run("incoming id kept", func(t *testing.T) {
			const id = "trace-abc_123.4"
			r := s.Do(t, "GET", s.Path("/tickets/00000000-0000-7000-8000-000000000000"), s.SKLive, nil, "X-Request-Id", id)
			r.WantError(t, 404, "")
			if got := r.Header.Get("X-Request-Id"); got != id {
				t.Errorf("X-Request-Id: got %q, want %q", got, id)
			}
		})
		t.Run("bad incoming id replaced", func(t *testing.T) {
			for _, bad := range []string{"has space", strings.Repeat("x", 65), "<script>", "a\tb"} {
				r := s.Do(t, "GET", "/healthz", "", nil, "X-Request-Id", bad).Want(t, 200)
				if got := r.Header.Get("X-Request-Id"); got == bad || !requestIDRE.MatchString(got) {
					t.Errorf("incoming %q: X-Request-Id got %q, want a fresh ID", bad, got)
				}
			}
		})
	})
}

// TestAPIHealthAndMetrics: the operational endpoints answer without a key.
func TestAPIHealthAndMetrics(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Limits(0, 0, 0, 1))
		h := s.Do(t, "GET", "/healthz", "", nil).Want(t, 200)
		if h.Body["success"] != true || h.Body["status"] != "ok" {
			t.Errorf("healthz: got %s, want success and status ok", h)
		}
		rd := s.Do(t, "GET", "/readyz", "", nil).Want(t, 200)
		if rd.Body["success"] != true || rd.Body["status"] != "ready" {
			t.Errorf("readyz: got %s, want success and status ready", rd)
		}
		// Exhausting the invalid-key budget does not touch health checks.
		s.Do(t, "GET", s.Path("/tickets"), "", nil).WantError(t, 401, "")
		s.Do(t, "GET", s.Path("/tickets"), "", nil).WantError(t, 429, "")
		s.Do(t, "GET", "/healthz", "", nil).Want(t, 200)
		s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil).Want(t, 200)

		m := s.Do(t, "GET", "/metrics", "", nil).Want(t, 200)
		if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("metrics Content-Type: got %q, want text/plain", ct)
		}
		body := string(m.Raw)
		if !strings.Contains(body, "cstar_http_requests_total") {
			t.Fatalf("metrics: no cstar_http_requests_total in\n%s", body)
		}
		for _, want := range []string{`"401"`, `"429"`, `"200"`} {
			found := false
			for _, line := range strings.Split(body, "\n") {
				if strings.HasPrefix(line, "cstar_http_requests_total{") && strings.Contains(line, want) {
					found = true
				}
			}
			if !found {
				t.Errorf("metrics: no cstar_http_requests_total sample with status %s in\n%s", want, body)
			}
		}
		if strings.Contains(body, s.SKLive) || strings.Contains(body, s.Team.ID) {
			t.Errorf("metrics leak a key or a team id")
		}
	})
}
