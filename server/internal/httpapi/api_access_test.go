package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// resource describes one CRUD collection of the API.
type resource struct {
	name string // collection path, e.g. "/tickets"
	// create returns a fresh, valid creation body (unique where needed).
	create func() map[string]any
	// field is a field that create sets and patch changes.
	field      string
	patch      any // new value of field
	publicRead bool
}

var seq atomic.Int64

func next() int64 { return seq.Add(1) }

var resources = []resource{
	{name: "/tickets", field: "subject", patch: "Still broken",
		create: func() map[string]any {
			return map[string]any{"subject": fmt.Sprintf("Printer %d on fire", next()), "priority": "high"}
		}},
	{name: "/customers", field: "name", patch: "Jane Roe",
		create: func() map[string]any {
			n := next()
			return map[string]any{"email": fmt.Sprintf("jane%d@example.com", n), "name": fmt.Sprintf("Jane %d", n)}
		}},
	{name: "/categories", field: "name", patch: "Payments", publicRead: true,
		create: func() map[string]any { return map[string]any{"name": fmt.Sprintf("Billing %d", next())} }},
	{name: "/articles", field: "title", patch: "Resetting a password", publicRead: true,
		create: func() map[string]any {
			return map[string]any{"title": fmt.Sprintf("Reset %d", next()), "body": "Click *reset*.", "status": "published"}
		}},
}

// TestAPISecretCRUD: secret keys create, read, list, change and delete every
// resource, in both modes.
func TestAPISecretCRUD(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		for _, res := range resources {
			for _, mode := range []string{"live", "test"} {
				key := s.SKLive
				if mode == "test" {
					key = s.SKTest
				}
				t.Run(res.name+" "+mode, func(t *testing.T) {
					body := res.create()
					created := s.Do(t, "POST", s.Path(res.name), key, body).Want(t, 201)
					if ct := created.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
						t.Errorf("Content-Type: got %q, want application/json; charset=utf-8", ct)
					}
					c := created.Data(t)
					id := str(c["id"])
					if id == "" {
						t.Fatalf("no id in %s", created)
					}
					if got, want := c[res.field], body[res.field]; got != want {
						t.Errorf("created %s: got %v, want %v", res.field, got, want)
					}
					if got := str(c["mode"]); got != mode {
						t.Errorf("mode: got %q, want %q", got, mode)
					}

					g := s.Do(t, "GET", s.Path(res.name+"/"+id), key, nil).Want(t, 200).Data(t)
					// Timestamps are compared by TestAPITimestampsRoundTrip.
					if got, want := fmt.Sprint(withoutTimes(g)), fmt.Sprint(withoutTimes(c)); got != want {
						t.Errorf("get: got %v, want the created object %v", got, want)
					}
					if ids := s.Do(t, "GET", s.Path(res.name), key, nil).Want(t, 200).IDs(t); !slices.Contains(ids, id) {
						t.Errorf("list: got %v, want it to contain %s", ids, id)
					}

					p := s.Do(t, "PATCH", s.Path(res.name+"/"+id), key, map[string]any{res.field: res.patch}).Want(t, 200).Data(t)
					if p[res.field] != res.patch {
						t.Errorf("patched %s: got %v, want %v", res.field, p[res.field], res.patch)
					}
					if str(p["id"]) != id {
						t.Errorf("patched id: got %v, want %s", p["id"], id)
					}
					g = s.Do(t, "GET", s.Path(res.name+"/"+id), key, nil).Want(t, 200).Data(t)
					if g[res.field] != res.patch {
						t.Errorf("get after patch: %s got %v, want %v", res.field, g[res.field], res.patch)
					}

					d := s.Do(t, "DELETE", s.Path(res.name+"/"+id), key, nil).Want(t, 200).Data(t)
					if str(d["id"]) != id || d["deleted"] != true {
						t.Errorf("delete: got %v, want id %s and deleted true", d, id)
					}
					s.Do(t, "GET", s.Path(res.name+"/"+id), key, nil).WantError(t, 404, "")
					s.Do(t, "PATCH", s.Path(res.name+"/"+id), key, map[string]any{res.field: res.patch}).WantError(t, 404, "")
					s.Do(t, "DELETE", s.Path(res.name+"/"+id), key, nil).WantError(t, 404, "")
					if ids := s.Do(t, "GET", s.Path(res.name), key, nil).Want(t, 200).IDs(t); slices.Contains(ids, id) {
						t.Errorf("list after delete: got %v, want no %s", ids, id)
					}
				})
			}
		}
	})
}

// TestAPIPublishableAccess: publishable keys are read-only and see only
// what is safe in a browser.
func TestAPIPublishableAccess(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		type fixture struct {
			pk, sk                       string
			ids                          map[string]string // resource → id
			draft, published, categoryID string
		}
		fx := map[string]*fixture{
			"live": {pk: s.PKLive, sk: s.SKLive, ids: map[string]string{}},
			"test": {pk: s.PKTest, sk: s.SKTest, ids: map[string]string{}},
		}
		for _, f := range fx {
			for _, res := range resources {
				f.ids[res.name] = s.create(t, f.sk, res.name, res.create())
			}
			f.categoryID = f.ids["/categories"]
			f.published = f.ids["/articles"]
			f.draft = s.create(t, f.sk, "/articles", map[string]any{"title": "Secret plans", "status": "draft",
				"category_id": f.categoryID})
		}

		for mode, f := range fx {
			t.Run(mode+" writes", func(t *testing.T) {
				type write struct{ method, path string }
				writes := []write{
					{"PATCH", ""},
					{"POST", "/api-keys"},
					{"POST", "/api-keys/" + s.Team.Keys["pk_"+mode].ID + "/roll"},
					{"DELETE", "/api-keys/" + s.Team.Keys["pk_"+mode].ID},
				}
				for _, res := range resources {
					writes = append(writes,
						write{"POST", res.name},
						write{"PATCH", res.name + "/" + f.ids[res.name]},
						write{"DELETE", res.name + "/" + f.ids[res.name]},
						write{"PUT", res.name + "/" + f.ids[res.name]})
				}
				for _, w := range writes {
					var body any
					if w.method != "DELETE" {
						body = map[string]any{"name": "Mallory"}
					}
					r := s.Do(t, w.method, s.Path(w.path), f.pk, body)
					if w.method == "PUT" {
						// No PUT route exists at all.
						r.WantError(t, 405, "")
						continue
					}
					r.WantError(t, 403, protocol.MsgPublishableRO)
					if r.Body["error"] != protocol.MsgPublishableRO {
						t.Errorf("%s %s: got %s", w.method, w.path, r)
					}
				}
				// Nothing changed.
				for _, res := range resources {
					g := s.Do(t, "GET", s.Path(res.name+"/"+f.ids[res.name]), f.sk, nil).Want(t, 200).Data(t)
					if g["name"] == "Mallory" {
						t.Errorf("%s was changed by a publishable key: %v", res.name, g)
					}
					want := 1
					if res.name == "/articles" {
						want = 2
					}
					if n := s.count(t, s.Path(res.name), f.sk); n != want {
						t.Errorf("%s: got %d items, want %d", res.name, n, want)
					}
				}
				if n := len(s.Do(t, "GET", s.Path("/api-keys"), f.sk, nil).Want(t, 200).Items(t)); n != 2 {
					t.Errorf("api keys: got %d, want 2 (a publishable key must not create or revoke keys)", n)
				}
				s.Do(t, "GET", s.Path(""), f.pk, nil).Want(t, 200)
			})

			t.Run(mode+" private reads", func(t *testing.T) {
				for _, p := range []string{
					"/customers", "/customers/" + f.ids["/customers"],
					"/tickets", "/tickets/" + f.ids["/tickets"],
					"/api-keys", "/api-keys/" + s.Team.Keys["pk_"+mode].ID + "/usage",
				} {
					r := s.Do(t, "GET", s.Path(p), f.pk, nil)
					r.WantError(t, 403, protocol.MsgPublishableScope)
				}
			})

			t.Run(mode+" public reads", func(t *testing.T) {
				tm := s.Do(t, "GET", s.Path(""), f.pk, nil).Want(t, 200).Data(t)
				if str(tm["id"]) != s.Team.ID || str(tm["slug"]) != s.Team.Slug || str(tm["name"]) != "Acme" {
					t.Errorf("team profile: got %v", tm)
				}
				s.Do(t, "GET", s.Path("/categories/"+f.categoryID), f.pk, nil).Want(t, 200)
				if ids := s.Do(t, "GET", s.Path("/categories"), f.pk, nil).Want(t, 200).IDs(t); !slices.Equal(ids, []string{f.categoryID}) {
					t.Errorf("categories: got %v, want [%s]", ids, f.categoryID)
				}
				a := s.Do(t, "GET", s.Path("/articles/"+f.published), f.pk, nil).Want(t, 200).Data(t)
				if str(a["status"]) != "published" {
					t.Errorf("article status: got %v, want published", a["status"])
				}
				for _, q := range []string{"", "?status=published", "?category_id=" + f.categoryID} {
					ids := s.Do(t, "GET", s.Path("/articles"+q), f.pk, nil).Want(t, 200).IDs(t)
					if q == "?category_id="+f.categoryID {
						if len(ids) != 0 {
							t.Errorf("articles%s: got %v, want none (the only article in it is a draft)", q, ids)
						}
						continue
					}
					if !slices.Equal(ids, []string{f.published}) {
						t.Errorf("articles%s: got %v, want only the published %s", q, ids, f.published)
					}
				}
				// The draft is invisible, whichever way it is asked for.
				s.Do(t, "GET", s.Path("/articles/"+f.draft), f.pk, nil).WantError(t, 404, "")
				if r := s.Do(t, "GET", s.Path("/articles?status=draft"), f.pk, nil); r.Status == 200 {
					if ids := r.IDs(t); slices.Contains(ids, f.draft) {
						t.Errorf("articles?status=draft with a publishable key: got %v, want no draft", ids)
					}
				}
				// The secret key sees both.
				if n := s.count(t, s.Path("/articles"), f.sk); n != 2 {
					t.Errorf("articles via sk: got %d, want 2", n)
				}
				s.Do(t, "GET", s.Path("/articles/"+f.draft), f.sk, nil).Want(t, 200)
			})
		}
	})
}

// TestAPIModeIsolation: live and test data never meet, in both directions,
// for every resource and for API keys.
func TestAPIModeIsolation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		keys := map[string]string{"live": s.SKLive, "test": s.SKTest}
		pks := map[string]string{"live": s.PKLive, "test": s.PKTest}
		other := map[string]string{"live": "test", "test": "live"}

		for _, res := range resources {
			ids := map[string]string{}
			bodies := map[string]map[string]any{}
			for mode, key := range keys {
				bodies[mode] = res.create()
				ids[mode] = s.create(t, key, res.name, bodies[mode])
			}
			for mode, key := range keys {
				foreign := ids[other[mode]]
				t.Run(res.name+" "+other[mode]+" object via "+mode+" key", func(t *testing.T) {
					s.Do(t, "GET", s.Path(res.name+"/"+foreign), key, nil).WantError(t, 404, "")
					s.Do(t, "PATCH", s.Path(res.name+"/"+foreign), key, map[string]any{res.field: res.patch}).WantError(t, 404, "")
					s.Do(t, "DELETE", s.Path(res.name+"/"+foreign), key, nil).WantError(t, 404, "")
					list := s.Do(t, "GET", s.Path(res.name), key, nil).Want(t, 200).IDs(t)
					if !slices.Equal(list, []string{ids[mode]}) {
						t.Errorf("list: got %v, want only [%s]", list, ids[mode])
					}
					if res.publicRead {
						s.Do(t, "GET", s.Path(res.name+"/"+foreign), pks[mode], nil).WantError(t, 404, "")
						list := s.Do(t, "GET", s.Path(res.name), pks[mode], nil).Want(t, 200).IDs(t)
						if !slices.Equal(list, []string{ids[mode]}) {
							t.Errorf("list via pk_%s: got %v, want only [%s]", mode, list, ids[mode])
						}
					}
					// The foreign object survived, unchanged, in its own mode.
					g := s.Do(t, "GET", s.Path(res.name+"/"+foreign), keys[other[mode]], nil).Want(t, 200).Data(t)
					if g[res.field] != bodies[other[mode]][res.field] {
						t.Errorf("%s object: %s got %v, want %v", other[mode], res.field, g[res.field], bodies[other[mode]][res.field])
					}
					if got := str(g["mode"]); got != other[mode] {
						t.Errorf("%s object: mode got %q, want %q", other[mode], got, other[mode])
					}
				})
			}
		}

		t.Run("cross-mode references", func(t *testing.T) {
			liveCustomer := s.create(t, s.SKLive, "/customers", map[string]any{"email": "live-only@example.com"})
			liveCategory := s.create(t, s.SKLive, "/categories", map[string]any{"name": "Live only"})
			s.Do(t, "POST", s.Path("/tickets"), s.SKTest, map[string]any{"subject": "x", "customer_id": liveCustomer}).
				WantError(t, 400, "").WantField(t, "customer_id")
			s.Do(t, "POST", s.Path("/articles"), s.SKTest, map[string]any{"title": "x", "category_id": liveCategory}).
				WantError(t, 400, "").WantField(t, "category_id")
			s.create(t, s.SKLive, "/tickets", map[string]any{"subject": "live ticket", "customer_id": liveCustomer})
			if ids := s.Do(t, "GET", s.Path("/tickets?customer_id="+liveCustomer), s.SKTest, nil).Want(t, 200).IDs(t); len(ids) != 0 {
				t.Errorf("test tickets of a live customer: got %v, want none", ids)
			}
			// The same email may exist once per mode.
			s.Do(t, "POST", s.Path("/customers"), s.SKTest, map[string]any{"email": "live-only@example.com"}).Want(t, 201)
		})

		t.Run("api keys", func(t *testing.T) {
			for mode, key := range keys {
				list := s.Do(t, "GET", s.Path("/api-keys"), key, nil).Want(t, 200).Items(t)
				var got []string
				for _, k := range list {
					if str(k["mode"]) != mode {
						t.Errorf("%s list holds a %v key: %v", mode, k["mode"], k)
					}
					got = append(got, str(k["id"]))
				}
				want := []string{s.Team.Keys["sk_"+mode].ID, s.Team.Keys["pk_"+mode].ID}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s keys: got %v, want %v", mode, got, want)
				}
			}
			for mode, key := range keys {
				for _, kind := range []string{"sk_", "pk_"} {
					foreign := s.Team.Keys[kind+other[mode]]
					s.Do(t, "POST", s.Path("/api-keys/"+foreign.ID+"/roll"), key, nil).WantError(t, 404, "")
					s.Do(t, "DELETE", s.Path("/api-keys/"+foreign.ID), key, nil).WantError(t, 404, "")
					s.Do(t, "GET", s.Path("/api-keys/"+foreign.ID+"/usage"), key, nil).WantError(t, 404, "")
				}
			}
			// Every key still works.
			for _, k := range []string{s.SKLive, s.SKTest, s.PKLive, s.PKTest} {
				s.Do(t, "GET", s.Path("/articles"), k, nil).Want(t, 200)
			}
			// A new key has the caller's mode.
			for mode, key := range keys {
				d := s.Do(t, "POST", s.Path("/api-keys"), key, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
				if str(d["mode"]) != mode {
					t.Errorf("key created with sk_%s: mode got %v, want %s", mode, d["mode"], mode)
				}
			}
		})
	})
}

// withoutTimes drops the *_at fields of an object.
func withoutTimes(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if !strings.HasSuffix(k, "_at") {
			out[k] = v
		}
	}
	return out
}

// TestAPITimestampsRoundTrip: what a create or update returns is what a
// later GET returns, timestamps included (the database keeps microseconds,
// so the API must not answer with nanoseconds first).
func TestAPITimestampsRoundTrip(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		for _, res := range resources {
			t.Run(res.name, func(t *testing.T) {
				c := s.Do(t, "POST", s.Path(res.name), s.SKLive, res.create()).Want(t, 201).Data(t)
				id := str(c["id"])
				g := s.Do(t, "GET", s.Path(res.name+"/"+id), s.SKLive, nil).Want(t, 200).Data(t)
				for k, v := range c {
					if strings.HasSuffix(k, "_at") && fmt.Sprint(g[k]) != fmt.Sprint(v) {
						t.Errorf("%s after create: GET gives %v, POST gave %v", k, g[k], v)
					}
				}
				p := s.Do(t, "PATCH", s.Path(res.name+"/"+id), s.SKLive, map[string]any{res.field: res.patch}).Want(t, 200).Data(t)
				g = s.Do(t, "GET", s.Path(res.name+"/"+id), s.SKLive, nil).Want(t, 200).Data(t)
				for k, v := range p {
					if strings.HasSuffix(k, "_at") && fmt.Sprint(g[k]) != fmt.Sprint(v) {
						t.Errorf("%s after update: GET gives %v, PATCH gave %v", k, g[k], v)
					}
				}
			})
		}
	})
}
