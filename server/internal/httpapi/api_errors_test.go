package httpapi_test

import (
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestAPIRequestErrors: bad requests get the right status, a message and
// the offending field, and write nothing.
func TestAPIRequestErrors(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		big := `{"subject":"` + strings.Repeat("a", 1<<20) + `"}`

		type bad struct {
			name   string
			body   any
			hdr    []string
			status int
			field  string // "" means not checked
		}
		common := []bad{
			{"malformed", `{"x":`, nil, 400, ""},
			{"malformed trailing comma", `{"a":1,}`, nil, 400, ""},
			{"not JSON", `hello`, nil, 400, ""},
			{"array", `[1,2]`, nil, 400, ""},
			{"string", `"x"`, nil, 400, ""},
			{"two values", `{} {}`, nil, 400, ""},
			{"empty body", ``, nil, 400, ""},
			{"unknown field", `{"no_such_field":1}`, nil, 400, "no_such_field"},
			{"too large", big, nil, 413, ""},
			{"text/plain", `{}`, []string{"Content-Type", "text/plain"}, 415, ""},
			{"form", `a=b`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
			{"no content type", `{}`, []string{"Content-Type", ""}, 415, ""},
		}
		perResource := map[string][]bad{
			"/tickets": {
				{"subject wrong type", `{"subject":5}`, nil, 400, "subject"},
				{"tags wrong type", `{"subject":"x","tags":"a"}`, nil, 400, "tags"},
				{"tags element wrong type", `{"subject":"x","tags":[1]}`, nil, 400, "tags"},
				{"subject missing", `{"priority":"high"}`, nil, 400, "subject"},
				{"subject empty", `{"subject":"  "}`, nil, 400, "subject"},
				{"status invalid", `{"subject":"x","status":"done"}`, nil, 400, "status"},
				{"priority invalid", `{"subject":"x","priority":"meh"}`, nil, 400, "priority"},
				{"channel invalid", `{"subject":"x","channel":"fax"}`, nil, 400, "channel"},
				{"customer unknown", `{"subject":"x","customer_id":"00000000-0000-7000-8000-000000000000"}`, nil, 400, "customer_id"},
				{"customer not a uuid", `{"subject":"x","customer_id":"bob"}`, nil, 400, "customer_id"},
			},
			"/customers": {
				{"email wrong type", `{"email":1}`, nil, 400, "email"},
				{"metadata wrong type", `{"email":"a@example.com","metadata":"x"}`, nil, 400, "metadata"},
				{"email invalid", `{"email":"not-an-email"}`, nil, 400, "email"},
				{"email and external id missing", `{"name":"Ann"}`, nil, 400, "email"},
			},
			"/categories": {
				{"name wrong type", `{"name":true}`, nil, 400, "name"},
				{"name missing", `{"description":"x"}`, nil, 400, "name"},
				{"name empty", `{"name":""}`, nil, 400, "name"},
				{"slug invalid", `{"name":"x","slug":"Not A Slug"}`, nil, 400, "slug"},
			},
			"/articles": {
				{"title wrong type", `{"title":["x"]}`, nil, 400, "title"},
				{"title missing", `{"body":"x"}`, nil, 400, "title"},
				{"status invalid", `{"title":"x","status":"archived"}`, nil, 400, "status"},
				{"slug invalid", `{"title":"x","slug":"-x-"}`, nil, 400, "slug"},
				{"category unknown", `{"title":"x","category_id":"00000000-0000-7000-8000-000000000000"}`, nil, 400, "category_id"},
			},
		}
		for _, res := range resources {
			id := s.create(t, s.SKLive, res.name, res.create())
			before := s.Do(t, "GET", s.Path(res.name+"/"+id), s.SKLive, nil).Want(t, 200).Data(t)
			cases := append(append([]bad{}, common...), perResource[res.name]...)
			for _, c := range cases {
				for _, method := range []string{"POST", "PATCH"} {
					if method == "PATCH" && strings.HasSuffix(c.name, "missing") {
						continue // a PATCH may leave any field out
					}
					t.Run(res.name+" "+method+" "+c.name, func(t *testing.T) {
						p := s.Path(res.name)
						if method == "PATCH" {
							p += "/" + id
						}
						r := s.Do(t, method, p, s.SKLive, c.body, c.hdr...)
						r.WantError(t, c.status, "")
						if c.field != "" {
							r.WantField(t, c.field)
						}
						// The same request with an Idempotency-Key takes
						// another path through the server.
						if method == "POST" {
							r := s.Do(t, method, p, s.SKLive, c.body, append([]string{"Idempotency-Key", "err-" + res.name + c.name}, c.hdr...)...)
							r.WantError(t, c.status, "")
						}
					})
				}
			}
			t.Run(res.name+" nothing written", func(t *testing.T) {
				if n := s.count(t, s.Path(res.name), s.SKLive); n != 1 {
					t.Errorf("items after failed writes: got %d, want 1", n)
				}
				after := s.Do(t, "GET", s.Path(res.name+"/"+id), s.SKLive, nil).Want(t, 200).Data(t)
				if after["updated_at"] != before["updated_at"] || after[res.field] != before[res.field] {
					t.Errorf("object changed by failed writes: got %v, want %v", after, before)
				}
			})
			t.Run(res.name+" charset parameter accepted", func(t *testing.T) {
				s.Do(t, "POST", s.Path(res.name), s.SKTest, res.create(), "Content-Type", "application/json; charset=utf-8").Want(t, 201)
			})
		}
	})
}

// TestAPINotFound: unknown ids and unknown routes are 404 in the envelope;
// a known route with the wrong method is 405.
func TestAPINotFound(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		for _, res := range resources {
			for _, id := range []string{"00000000-0000-7000-8000-000000000000", "not-a-uuid", "0"} {
				t.Run(res.name+" "+id, func(t *testing.T) {
					s.Do(t, "GET", s.Path(res.name+"/"+id), s.SKLive, nil).WantError(t, 404, "")
					s.Do(t, "PATCH", s.Path(res.name+"/"+id), s.SKLive, map[string]any{res.field: res.patch}).WantError(t, 404, "")
					s.Do(t, "DELETE", s.Path(res.name+"/"+id), s.SKLive, nil).WantError(t, 404, "")
				})
			}
		}
		routes := []struct {
			name, method, path, key string
			status                  int
		}{
			{"root", "GET", "/", "", 404},
			{"unknown top level", "GET", "/nope", "", 404},
			{"unknown api path", "GET", "/api/v2/teams", "", 404},
			{"unknown v1 path", "GET", "/api/v1/nope", s.SKLive, 404},
			{"unknown team resource", "GET", s.Path("/widgets"), s.SKLive, 404},
			{"unknown nested resource", "GET", s.Path("/tickets/x/y"), s.SKLive, 404},
			{"unknown library path", "GET", "/api/library/" + s.Team.Slug + "/widgets", "", 404},
			{"PUT ticket", "PUT", s.Path("/tickets/00000000-0000-7000-8000-000000000000"), s.SKLive, 405},
			{"DELETE collection", "DELETE", s.Path("/tickets"), s.SKLive, 405},
			{"POST team", "POST", s.Path(""), s.SKLive, 405},
			{"POST healthz", "POST", "/healthz", "", 405},
			{"POST library", "POST", "/api/library/" + s.Team.Slug + "/articles", "", 405},
		}
		for _, rt := range routes {
			t.Run(rt.name, func(t *testing.T) {
				var body any
				if rt.method == "POST" || rt.method == "PUT" {
					body = map[string]any{}
				}
				r := s.Do(t, rt.method, rt.path, rt.key, body)
				r.WantError(t, rt.status, "")
				if rt.status == 405 && r.Header.Get("Allow") == "" {
					t.Errorf("405 without an Allow header")
				}
			})
		}
	})
}
