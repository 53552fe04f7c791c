package httpapi_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// walk pages through a list with the given limit and returns the ids in
// order and the size of each page.
func (s *testServer) walk(t testing.TB, path, key string, limit int) (ids []string, sizes []int) {
	t.Helper()
	cursor := ""
	for range 200 {
		p := fmt.Sprintf("%s%slimit=%d", path, sep(path), limit)
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		r := s.Do(t, "GET", p, key, nil).Want(t, 200)
		page := r.IDs(t)
		ids = append(ids, page...)
		sizes = append(sizes, len(page))
		pg, ok := r.Body["pagination"].(map[string]any)
		if !ok {
			t.Fatalf("no pagination object in %s", r)
		}
		if pg["has_more"] != true {
			if pg["next_cursor"] != nil {
				t.Errorf("last page: next_cursor got %v, want null", pg["next_cursor"])
			}
			if _, present := pg["next_cursor"]; !present {
				t.Errorf("last page: next_cursor missing, want null")
			}
			return ids, sizes
		}
		cursor = str(pg["next_cursor"])
		if cursor == "" {
			t.Fatalf("has_more without next_cursor: %s", r)
		}
		if len(page) != limit {
			t.Errorf("a page before the last: got %d items, want %d", len(page), limit)
		}
	}
	t.Fatalf("too many pages")
	return
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestAPIPagination: cursors walk every item once, newest first.
func TestAPIPagination(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		created := map[string][]string{}
		for _, res := range resources {
			n := 12
			if res.name == "/tickets" {
				n = 25
			}
			for range n {
				created[res.name] = append(created[res.name], s.create(t, s.SKLive, res.name, res.create()))
			}
			// Noise in the other mode must not show up.
			s.create(t, s.SKTest, res.name, res.create())
		}

		t.Run("default limit", func(t *testing.T) {
			r := s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil).Want(t, 200)
			ids := r.IDs(t)
			if want := reversed(created["/tickets"])[:20]; !slices.Equal(ids, want) {
				t.Errorf("first page: got %v, want the 20 newest %v", ids, want)
			}
			pg, _ := r.Body["pagination"].(map[string]any)
			if pg["has_more"] != true || str(pg["next_cursor"]) == "" {
				t.Errorf("pagination: got %v, want has_more and a cursor", pg)
			}
			r = s.Do(t, "GET", s.Path("/tickets?cursor="+str(pg["next_cursor"])), s.SKLive, nil).Want(t, 200)
			if want := reversed(created["/tickets"])[20:]; !slices.Equal(r.IDs(t), want) {
				t.Errorf("second page: got %v, want %v", r.IDs(t), want)
			}
			if pg, _ := r.Body["pagination"].(map[string]any); pg["has_more"] != false || pg["next_cursor"] != nil {
				t.Errorf("last page pagination: got %v, want has_more false and next_cursor null", pg)
			}
		})

		for _, res := range resources {
			for _, limit := range []int{1, 5, 12, 100} {
				t.Run(fmt.Sprintf("%s limit %d", res.name, limit), func(t *testing.T) {
					ids, sizes := s.walk(t, s.Path(res.name), s.SKLive, limit)
					if want := reversed(created[res.name]); !slices.Equal(ids, want) {
						t.Errorf("walk: got %v, want every item once, newest first: %v (pages %v)", ids, want, sizes)
					}
				})
			}
		}
		t.Run("exact multiple", func(t *testing.T) {
			// 12 items in pages of 6: the second page is the last one.
			_, sizes := s.walk(t, s.Path("/categories"), s.SKLive, 6)
			if !slices.Equal(sizes, []int{6, 6}) {
				t.Errorf("pages: got %v, want [6 6]", sizes)
			}
		})

		t.Run("bad parameters", func(t *testing.T) {
			enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
			cases := []struct{ query, field string }{
				{"limit=101", "limit"},
				{"limit=0", "limit"},
				{"limit=-1", "limit"},
				{"limit=abc", "limit"},
				{"limit=1.5", "limit"},
				{"cursor=garbage!", "cursor"},
				{"cursor=" + enc(`{"a":"not-a-uuid"}`), "cursor"},
				{"cursor=" + enc(`{}`), "cursor"},
				{"cursor=" + enc(`[]`), "cursor"},
			}
			for _, res := range resources {
				for _, c := range cases {
					r := s.Do(t, "GET", s.Path(res.name+"?"+c.query), s.SKLive, nil)
					r.WantError(t, 400, "")
					r.WantField(t, c.field)
				}
				s.Do(t, "GET", s.Path(res.name+"?limit=100"), s.SKLive, nil).Want(t, 200)
			}
			for _, c := range cases {
				r := s.Do(t, "GET", "/api/library/"+s.Team.Slug+"/articles?"+c.query, "", nil)
				r.WantError(t, 400, "")
				r.WantField(t, c.field)
			}
		})
	})
}

// TestAPIListFilters: tickets by status and customer, articles by category
// and status; filters combine with pagination.
func TestAPIListFilters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		ann := s.create(t, s.SKLive, "/customers", map[string]any{"email": "ann@example.com"})
		bob := s.create(t, s.SKLive, "/customers", map[string]any{"email": "bob@example.com"})
		want := map[string][]string{}
		for i := range 12 {
			status := []string{"open", "pending", "closed"}[i%3]
			cust := []string{ann, bob}[i%2]
			id := s.create(t, s.SKLive, "/tickets", map[string]any{"subject": fmt.Sprint("t", i), "status": status, "customer_id": cust})
			want["status="+status] = append(want["status="+status], id)
			want["customer_id="+cust] = append(want["customer_id="+cust], id)
			want["status="+status+"&customer_id="+cust] = append(want["status="+status+"&customer_id="+cust], id)
		}
		// Closing a ticket later moves it between the filters.
		moved := want["status=open"][0]
		s.Do(t, "PATCH", s.Path("/tickets/"+moved), s.SKLive, map[string]any{"status": "closed"}).Want(t, 200)
		for _, q := range []string{"", "&customer_id=" + ann} {
			want["status=open"+q] = slices.DeleteFunc(want["status=open"+q], func(id string) bool { return id == moved })
			want["status=closed"+q] = append(want["status=closed"+q], moved)
			slices.Sort(want["status=closed"+q]) // ids grow with creation time
		}

		for q, ids := range want {
			t.Run("tickets "+q, func(t *testing.T) {
				got, _ := s.walk(t, s.Path("/tickets?"+q), s.SKLive, 2)
				if w := reversed(ids); !slices.Equal(got, w) {
					t.Errorf("got %v, want %v", got, w)
				}
			})
		}
		s.Do(t, "GET", s.Path("/tickets?status=done"), s.SKLive, nil).WantError(t, 400, "").WantField(t, "status")
		for _, c := range []string{"00000000-0000-7000-8000-000000000000", "not-a-uuid"} {
			if ids := s.Do(t, "GET", s.Path("/tickets?customer_id="+c), s.SKLive, nil).Want(t, 200).IDs(t); len(ids) != 0 {
				t.Errorf("tickets of unknown customer %s: got %v, want none", c, ids)
			}
		}
		if ids := s.Do(t, "GET", s.Path("/customers?email=ANN@example.com"), s.SKLive, nil).Want(t, 200).IDs(t); !slices.Equal(ids, []string{ann}) {
			t.Errorf("customers by email: got %v, want [%s]", ids, ann)
		}

		c1 := s.create(t, s.SKLive, "/categories", map[string]any{"name": "One"})
		c2 := s.create(t, s.SKLive, "/categories", map[string]any{"name": "Two"})
		aw := map[string][]string{}
		for i := range 10 {
			status := []string{"draft", "published"}[i%2]
			cat := []string{c1, c2}[(i/2)%2]
			id := s.create(t, s.SKLive, "/articles", map[string]any{"title": fmt.Sprint("a", i), "status": status, "category_id": cat})
			aw["status="+status] = append(aw["status="+status], id)
			aw["category_id="+cat] = append(aw["category_id="+cat], id)
			aw["category_id="+cat+"&status="+status] = append(aw["category_id="+cat+"&status="+status], id)
		}
		nocat := s.create(t, s.SKLive, "/articles", map[string]any{"title": "loose", "status": "published"})
		aw["status=published"] = append(aw["status=published"], nocat)
		for q, ids := range aw {
			t.Run("articles "+q, func(t *testing.T) {
				got, _ := s.walk(t, s.Path("/articles?"+q), s.SKLive, 2)
				if w := reversed(ids); !slices.Equal(got, w) {
					t.Errorf("got %v, want %v", got, w)
				}
			})
		}
		s.Do(t, "GET", s.Path("/articles?status=archived"), s.SKLive, nil).WantError(t, 400, "").WantField(t, "status")
		// Deleting a category leaves its articles, without a category.
		s.Do(t, "DELETE", s.Path("/categories/"+c1), s.SKLive, nil).Want(t, 200)
		if ids := s.Do(t, "GET", s.Path("/articles?category_id="+c1), s.SKLive, nil).Want(t, 200).IDs(t); len(ids) != 0 {
			t.Errorf("articles of a deleted category: got %v, want none", ids)
		}
		if n := s.count(t, s.Path("/articles"), s.SKLive); n != 11 {
			t.Errorf("articles after deleting a category: got %d, want 11", n)
		}
		a := s.Do(t, "GET", s.Path("/articles/"+aw["category_id="+c1][0]), s.SKLive, nil).Want(t, 200).Data(t)
		if a["category_id"] != nil {
			t.Errorf("category_id after the category was deleted: got %v, want null", a["category_id"])
		}
	})
}
