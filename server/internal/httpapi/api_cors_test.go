package httpapi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestAPICORS: publishable-key and Library responses may be read by any
// page; secret-key responses by none.
func TestAPICORS(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		const origin = "https://shop.example"
		lib := "/api/library/" + s.Team.Slug
		cases := []struct {
			name         string
			method, path string
			key          string
			body         any
			status       int
			want         string
		}{
			{"pk list", "GET", s.Path("/articles"), s.PKLive, nil, 200, origin},
			{"pk_test team", "GET", s.Path(""), s.PKTest, nil, 200, origin},
			{"pk write refused", "POST", s.Path("/articles"), s.PKLive, map[string]any{"title": "x"}, 403, origin},
			{"pk private read refused", "GET", s.Path("/tickets"), s.PKLive, nil, 403, origin},
			{"sk list", "GET", s.Path("/articles"), s.SKLive, nil, 200, ""},
			{"sk write", "POST", s.Path("/articles"), s.SKLive, map[string]any{"title": "x"}, 201, ""},
			{"sk tickets", "GET", s.Path("/tickets"), s.SKTest, nil, 200, ""},
			{"sk keys", "GET", s.Path("/api-keys"), s.SKLive, nil, 200, ""},
			{"sk not found", "GET", s.Path("/tickets/00000000-0000-7000-8000-000000000000"), s.SKLive, nil, 404, ""},
			{"library articles", "GET", lib + "/articles", "", nil, 200, origin},
			{"library categories", "GET", lib + "/categories", "", nil, 200, origin},
			{"library search", "GET", lib + "/search?q=x", "", nil, 200, origin},
			{"library by id", "GET", "/api/library/" + s.Team.ID + "/articles", "", nil, 200, origin},
			{"library unknown team", "GET", "/api/library/nope/articles", "", nil, 404, origin},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, c.method, c.path, c.key, c.body, "Origin", origin)
				if r.Status != c.status {
					t.Fatalf("status: got %d, want %d (%s)", r.Status, c.status, r)
				}
				r.WantCORS(t, c.want)
				if c.want == "" && r.Header.Get("Access-Control-Allow-Credentials") != "" {
					t.Errorf("Access-Control-Allow-Credentials set on a secret-key response")
				}
			})
		}
		t.Run("no Origin, no CORS headers", func(t *testing.T) {
			r := s.Do(t, "GET", s.Path("/articles"), s.PKLive, nil).Want(t, 200)
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("Access-Control-Allow-Origin without Origin: got %q, want none", got)
			}
		})
	})
}

// TestAPIPreflight: OPTIONS is answered without a key and offers GET only.
func TestAPIPreflight(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		const origin = "https://shop.example"
		for _, p := range []string{
			s.Path("/articles"), s.Path("/tickets"), s.Path(""),
			"/api/library/" + s.Team.Slug + "/articles", "/api/library/" + s.Team.Slug + "/search",
		} {
			for _, method := range []string{"GET", "POST", "DELETE"} {
				t.Run(p+" "+method, func(t *testing.T) {
					r := s.Do(t, "OPTIONS", p, "", nil, "Origin", origin,
						"Access-Control-Request-Method", method,
						"Access-Control-Request-Headers", "authorization, content-type")
					r.Want(t, 204)
					r.WantCORS(t, origin)
					if got := r.Header.Get("Access-Control-Allow-Methods"); got != "GET" {
						t.Errorf("Access-Control-Allow-Methods: got %q, want GET", got)
					}
					ah := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers"))
					if !strings.Contains(ah, "authorization") {
						t.Errorf("Access-Control-Allow-Headers: got %q, want it to allow Authorization", ah)
					}
					if len(r.Raw) != 0 {
						t.Errorf("body: got %q, want none", r.Raw)
					}
					if r.Header.Get("X-Request-Id") == "" {
						t.Errorf("no X-Request-Id on a preflight")
					}
				})
			}
		}
	})
}

// TestAPIAllowedOrigins: a team can restrict the origins its publishable
// keys work from.
func TestAPIAllowedOrigins(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		const shop, evil = "https://shop.example", "https://evil.example"

		// Any origin works until the team sets a list.
		s.Do(t, "GET", s.Path("/articles"), s.PKLive, nil, "Origin", evil).Want(t, 200).WantCORS(t, evil)

		r := s.Do(t, "PATCH", s.Path(""), s.SKLive, map[string]any{"allowed_origins": []string{shop}}).Want(t, 200)
		if got := r.Data(t)["allowed_origins"]; !slices.Equal(toStrings(got), []string{shop}) {
			t.Errorf("allowed_origins: got %v, want [%s]", got, shop)
		}
		if got := s.Do(t, "GET", s.Path(""), s.SKLive, nil).Want(t, 200).Data(t)["allowed_origins"]; !slices.Equal(toStrings(got), []string{shop}) {
			t.Errorf("allowed_origins after GET: got %v, want [%s]", got, shop)
		}
		if d := s.Do(t, "GET", s.Path(""), s.PKLive, nil).Want(t, 200).Data(t); d["allowed_origins"] != nil {
			t.Errorf("a publishable key sees allowed_origins: %v", d["allowed_origins"])
		}

		// The list is live's: test keys are not restricted by it, and a test
		// key's PATCH changes only test's list (before, sk_test could clear
		// live's).
		s.Do(t, "GET", s.Path("/articles"), s.PKTest, nil, "Origin", evil).Want(t, 200).WantCORS(t, evil)
		if got := s.Do(t, "GET", s.Path(""), s.SKTest, nil).Want(t, 200).Data(t)["allowed_origins"]; len(toStrings(got)) != 0 {
			t.Errorf("test's allowed_origins: got %v, want none", got)
		}
		s.Do(t, "PATCH", s.Path(""), s.SKTest, map[string]any{"allowed_origins": []string{}}).Want(t, 200)
		s.Do(t, "PATCH", s.Path(""), s.SKTest, map[string]any{"allowed_origins": []string{shop}}).Want(t, 200)
		s.Do(t, "PATCH", s.Path(""), s.SKTest, map[string]any{"name": "Test Name"}).
			WantError(t, 403, "The team's name is shared by both modes: change it with a live secret key")
		if got := s.Do(t, "GET", s.Path(""), s.SKLive, nil).Want(t, 200).Data(t); !slices.Equal(toStrings(got["allowed_origins"]), []string{shop}) || got["name"] != "Acme" {
			t.Errorf("live after test's changes: got %v, want allowed_origins [%s] and the name unchanged", got, shop)
		}

		for _, key := range []string{s.PKLive, s.PKTest} {
			for _, p := range []string{"/articles", "/categories", ""} {
				s.Do(t, "GET", s.Path(p), key, nil, "Origin", evil).WantError(t, 403, protocol.MsgOriginNotAllowed)
				s.Do(t, "GET", s.Path(p), key, nil, "Origin", "https://shop.example.evil.example").WantError(t, 403, protocol.MsgOriginNotAllowed)
				s.Do(t, "GET", s.Path(p), key, nil, "Origin", "http://shop.example").WantError(t, 403, protocol.MsgOriginNotAllowed)
				s.Do(t, "GET", s.Path(p), key, nil, "Origin", shop).Want(t, 200).WantCORS(t, shop)
				// Apps and servers send no Origin.
				s.Do(t, "GET", s.Path(p), key, nil).Want(t, 200)
			}
		}
		// Secret keys are not restricted by origin.
		s.Do(t, "GET", s.Path("/articles"), s.SKLive, nil, "Origin", evil).Want(t, 200).WantCORS(t, "")

		// Bad origins are refused and change nothing.
		for _, bad := range []any{[]string{"shop.example"}, []string{"ftp://shop.example"}, []string{"https://shop.example/path"}} {
			s.Do(t, "PATCH", s.Path(""), s.SKLive, map[string]any{"allowed_origins": bad}).WantError(t, 400, "").WantField(t, "allowed_origins")
		}
		s.Do(t, "PATCH", s.Path(""), s.SKLive, `{"allowed_origins":"https://shop.example"}`).WantError(t, 400, "").WantField(t, "allowed_origins")
		s.Do(t, "GET", s.Path("/articles"), s.PKLive, nil, "Origin", evil).WantError(t, 403, protocol.MsgOriginNotAllowed)

		// Clearing the list opens every origin again.
		s.Do(t, "PATCH", s.Path(""), s.SKLive, map[string]any{"allowed_origins": []string{}}).Want(t, 200)
		s.Do(t, "GET", s.Path("/articles"), s.PKLive, nil, "Origin", evil).Want(t, 200).WantCORS(t, evil)
	})
}

func toStrings(v any) []string {
	arr, _ := v.([]any)
	out := []string{}
	for _, x := range arr {
		out = append(out, str(x))
	}
	return out
}
