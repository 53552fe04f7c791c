package httpapi_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// flipLast changes the last character of a key, which breaks its checksum.
func flipLast(k string) string {
	last := k[len(k)-1]
	repl := byte('a')
	if last == 'a' {
		repl = 'b'
	}
	return k[:len(k)-1] + string(repl)
}

// TestAPIInvalidKeys: every kind of bad key gets the same 401.
func TestAPIInvalidKeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)

		unknown, err := apikey.Generate(apikey.Secret, scope.Live)
		if err != nil {
			t.Fatal(err)
		}
		unknownPK, err := apikey.Generate(apikey.Publishable, scope.Test)
		if err != nil {
			t.Fatal(err)
		}

		// A key that is revoked, and one that expires after a roll; both
		// are used first so that they sit in the key cache.
		revoked := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
		expiring := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
		for _, k := range []map[string]any{revoked, expiring} {
			s.Do(t, "GET", s.Path("/tickets"), str(k["key"]), nil).Want(t, 200)
		}
		s.Do(t, "DELETE", s.Path("/api-keys/"+str(revoked["id"])), s.SKLive, nil).Want(t, 200)
		s.Do(t, "POST", s.Path("/api-keys/"+str(expiring["id"])+"/roll"), s.SKLive,
			map[string]any{"expires_in": 60}).Want(t, 201)
		// The rolled key still works within its grace period.
		s.Do(t, "GET", s.Path("/tickets"), str(expiring["key"]), nil).Want(t, 200)
		// Past the grace period and the key cache.
		s.Clock.Advance(61*time.Second + apikey.CacheTTL)

		cases := []struct {
			name   string
			header string // the whole Authorization header; "" sends none
		}{
			{"missing", ""},
			{"empty bearer", "Bearer "},
			{"malformed", "Bearer abc"},
			{"wrong scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+s.SKLive))},
			{"key without scheme", s.SKLive},
			{"bad checksum", "Bearer " + flipLast(s.SKLive)},
			{"bad checksum publishable", "Bearer " + flipLast(s.PKLive)},
			{"truncated", "Bearer " + s.SKLive[:len(s.SKLive)-1]},
			{"extended", "Bearer " + s.SKLive + "x"},
			{"unknown secret", "Bearer " + unknown},
			{"unknown publishable", "Bearer " + unknownPK},
			{"revoked", "Bearer " + str(revoked["key"])},
			{"expired", "Bearer " + str(expiring["key"])},
		}
		var first *resp
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, "GET", s.Path("/tickets"), "", nil, "Authorization", c.header)
				r.WantError(t, 401, protocol.MsgInvalidAPIKey)
				if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate: got %q, want it to start with \"Bearer\"", got)
				}
				if first == nil {
					first = r
					return
				}
				if got, want := r.WithoutRequestID(), first.WithoutRequestID(); got != want {
					t.Errorf("body differs from case %q: got %s, want %s", cases[0].name, got, want)
				}
				if r.Body["request_id"] == first.Body["request_id"] {
					t.Errorf("request_id %v repeats across requests", r.Body["request_id"])
				}
			})
		}
		// The good keys still work.
		s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil).Want(t, 200)
	})
}

// TestAPIEveryRouteNeedsKey: no /api/v1 route answers without a key.
func TestAPIEveryRouteNeedsKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		id := uuid.NewString()
		routes := []struct{ method, path string }{
			{"GET", ""},
			{"PATCH", ""},
			{"GET", "/api-keys"},
			{"POST", "/api-keys"},
			{"POST", "/api-keys/" + id + "/roll"},
			{"DELETE", "/api-keys/" + id},
			{"GET", "/api-keys/" + id + "/usage"},
		}
		for _, res := range []string{"/tickets", "/customers", "/categories", "/articles"} {
			routes = append(routes,
				struct{ method, path string }{"GET", res},
				struct{ method, path string }{"POST", res},
				struct{ method, path string }{"GET", res + "/" + id},
				struct{ method, path string }{"PATCH", res + "/" + id},
				struct{ method, path string }{"DELETE", res + "/" + id})
		}
		for _, rt := range routes {
			for _, name := range []string{"missing", "malformed"} {
				t.Run(rt.method+" "+rt.path+" "+name, func(t *testing.T) {
					var body any
					if rt.method == "POST" || rt.method == "PATCH" {
						body = map[string]any{}
					}
					key := ""
					if name == "malformed" {
						key = "sk_live_nope"
					}
					r := s.Do(t, rt.method, s.Path(rt.path), key, body)
					r.WantError(t, 401, protocol.MsgInvalidAPIKey)
					if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
						t.Errorf("WWW-Authenticate: got %q, want it to start with \"Bearer\"", got)
					}
				})
			}
		}
		// Nothing was written by the unauthenticated POSTs.
		for _, res := range []string{"/tickets", "/customers", "/categories", "/articles"} {
			if n := s.count(t, s.Path(res), s.SKLive); n != 0 {
				t.Errorf("%s: got %d items after unauthenticated writes, want 0", res, n)
			}
		}
	})
}

// TestAPITeamPath: {teamId} is a UUID or a slug; a key only opens its own
// team.
func TestAPITeamPath(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		other := s.CreateTeam(t, "Other", apptest.UniqueSlug("other"))
		tid := s.create(t, s.SKLive, "/tickets", map[string]any{"subject": "Printer on fire"})

		for _, ref := range []string{s.Team.ID, s.Team.Slug, strings.ToUpper(s.Team.ID)} {
			t.Run("own team "+ref, func(t *testing.T) {
				base := "/api/v1/teams/" + ref
				d := s.Do(t, "GET", base, s.SKLive, nil).Want(t, 200).Data(t)
				if got := str(d["id"]); got != s.Team.ID {
					t.Errorf("team id: got %q, want %q", got, s.Team.ID)
				}
				if got := str(d["slug"]); got != s.Team.Slug {
					t.Errorf("team slug: got %q, want %q", got, s.Team.Slug)
				}
				ids := s.Do(t, "GET", base+"/tickets", s.SKLive, nil).Want(t, 200).IDs(t)
				if len(ids) != 1 || ids[0] != tid {
					t.Errorf("tickets via %q: got %v, want [%s]", ref, ids, tid)
				}
				s.Do(t, "GET", base+"/tickets/"+tid, s.SKLive, nil).Want(t, 200)
				s.Do(t, "GET", base+"/articles", s.PKLive, nil).Want(t, 200)
			})
		}

		cases := []struct {
			name, ref, key string
		}{
			{"other team by id, sk_live", other.ID, s.SKLive},
			{"other team by slug, sk_live", other.Slug, s.SKLive},
			{"other team by id, sk_test", other.ID, s.SKTest},
			{"other team by id, pk_live", other.ID, s.PKLive},
			{"other team by slug, pk_test", other.Slug, s.PKTest},
			{"own team, other team's key", s.Team.ID, other.Keys["sk_live"].Secret},
			{"unknown uuid", uuid.NewString(), s.SKLive},
			{"unknown slug", "no-such-team", s.SKLive},
			{"unknown, not a slug", "Not_A_Slug!", s.SKLive},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				for _, p := range []string{"", "/tickets", "/tickets/" + tid, "/articles", "/api-keys"} {
					r := s.Do(t, "GET", "/api/v1/teams/"+c.ref+p, c.key, nil)
					if strings.HasPrefix(c.key, "pk_") && (p == "/tickets" || p == "/tickets/"+tid || p == "/api-keys") {
						// Forbidden either way; the message may be the scope one.
						r.WantError(t, 403, "")
						continue
					}
					r.WantError(t, 403, protocol.MsgWrongTeam)
				}
				// A write on the wrong team is refused and writes nothing.
				r := s.Do(t, "POST", "/api/v1/teams/"+c.ref+"/tickets", c.key, map[string]any{"subject": "x"})
				r.WantError(t, 403, "")
			})
		}
		if n := s.count(t, s.Path("/tickets"), s.SKLive); n != 1 {
			t.Errorf("own tickets: got %d, want 1", n)
		}
		for _, k := range []string{"sk_live", "sk_test"} {
			if n := s.count(t, "/api/v1/teams/"+other.ID+"/tickets", other.Keys[k].Secret); n != 0 {
				t.Errorf("other team's %s tickets: got %d, want 0", k, n)
			}
		}
	})
}
