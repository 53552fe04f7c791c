package httpapi_test

import (
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

var requireHTTPS = apptest.Config(func(c *config.Config) { c.RequireHTTPS = true })

// TestAPIRequireHTTPS: with --require-https, plain HTTP is refused unless it
// comes from loopback, and a trusted proxy's X-Forwarded-Proto counts.
func TestAPIRequireHTTPS(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, requireHTTPS, apptest.TrustLoopbackProxy)
		lib := "/api/library/" + s.Team.Slug + "/articles"
		const client = "203.0.113.9"
		cases := []struct {
			name   string
			hdr    []string
			status int
			hsts   bool
		}{
			{"loopback, plain", nil, 200, false},
			{"remote, plain", []string{"X-Forwarded-For", client}, 403, false},
			{"remote, proto http", []string{"X-Forwarded-For", client, "X-Forwarded-Proto", "http"}, 403, false},
			{"remote, proto https", []string{"X-Forwarded-For", client, "X-Forwarded-Proto", "https"}, 200, true},
			{"remote, proto HTTPS", []string{"X-Forwarded-For", client, "X-Forwarded-Proto", "HTTPS"}, 200, true},
			{"remote via two proxies", []string{"X-Forwarded-For", client + ", 127.0.0.1"}, 403, false},
			{"spoofed loopback before the client", []string{"X-Forwarded-For", "127.0.0.1, " + client}, 403, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				for _, req := range []struct{ path, key string }{
					{s.Path("/tickets"), s.SKLive},
					{s.Path("/tickets"), ""},
					{lib, ""},
				} {
					r := s.Do(t, "GET", req.path, req.key, nil, c.hdr...)
					switch {
					case c.status == 403:
						r.WantError(t, 403, protocol.MsgHTTPSRequired)
						for k := range r.Body {
							if k != "success" && k != "error" && k != "code" && k != "request_id" {
								t.Errorf("unexpected field %q in %s", k, r)
							}
						}
					case req.key == "" && strings.HasPrefix(req.path, "/api/v1"):
						r.WantError(t, 401, protocol.MsgInvalidAPIKey)
					default:
						r.Want(t, c.status)
					}
					hsts := r.Header.Get("Strict-Transport-Security")
					if c.hsts && !strings.HasPrefix(hsts, "max-age=") {
						t.Errorf("%s: Strict-Transport-Security: got %q, want max-age=…", req.path, hsts)
					}
					if !c.hsts && hsts != "" {
						t.Errorf("%s: Strict-Transport-Security on plain HTTP: got %q, want none", req.path, hsts)
					}
					if r.Header.Get("X-Request-Id") == "" {
						t.Errorf("%s: no X-Request-Id", req.path)
					}
				}
			})
		}
		t.Run("refused request writes nothing", func(t *testing.T) {
			s.Do(t, "POST", s.Path("/tickets"), s.SKLive, map[string]any{"subject": "x"}, "X-Forwarded-For", client).
				WantError(t, 403, protocol.MsgHTTPSRequired)
			if n := s.count(t, s.Path("/tickets"), s.SKLive); n != 0 {
				t.Errorf("tickets: got %d, want 0", n)
			}
		})
		t.Run("health checks stay plain", func(t *testing.T) {
			s.Do(t, "GET", "/healthz", "", nil, "X-Forwarded-For", client).Want(t, 200)
		})
	})
}

// TestAPIRequireHTTPSUntrustedProxy: forwarded headers from a peer that is
// not a trusted proxy are ignored, both ways.
func TestAPIRequireHTTPSUntrustedProxy(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, requireHTTPS)
		// The peer is loopback, so it is allowed whatever it claims.
		r := s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil, "X-Forwarded-For", "203.0.113.9").Want(t, 200)
		if got := r.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("Strict-Transport-Security on plain HTTP: got %q", got)
		}
		// And a claim of HTTPS from it is not believed.
		r = s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil, "X-Forwarded-Proto", "https").Want(t, 200)
		if got := r.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("Strict-Transport-Security from an untrusted X-Forwarded-Proto: got %q", got)
		}
	})
}
