package httpapi_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// libraryFixture is the content of TestAPILibrary.
type libraryFixture struct {
	account, billing string // live category ids
	testCategory     string
	titleHit         string // live, published, "password" in the title
	bodyHit          string // live, published, "password" in the body only
	other            string // live, published, no "password"
	draft            string // live draft with "password"
	testArticle      string // test, published, "password" in the title
	slugs            map[string]string
}

func setupLibrary(t *testing.T, s *testServer) libraryFixture {
	t.Helper()
	f := libraryFixture{slugs: map[string]string{}}
	f.account = s.create(t, s.SKLive, "/categories", map[string]any{"name": "Account", "slug": "account"})
	f.billing = s.create(t, s.SKLive, "/categories", map[string]any{"name": "Billing", "slug": "billing"})
	f.testCategory = s.create(t, s.SKTest, "/categories", map[string]any{"name": "Sandbox", "slug": "sandbox"})
	art := func(key, title, slug, body, status, cat string) string {
		id := s.create(t, key, "/articles", map[string]any{"title": title, "slug": slug, "body": body,
			"status": status, "category_id": cat})
		f.slugs[id] = slug
		return id
	}
	// The body hit comes first so that, were hits ordered by age, it would
	// lead.
	f.bodyHit = art(s.SKLive, "Updating your billing details", "billing-details",
		"Open Billing, enter the card number and confirm with your password when asked.", "published", f.billing)
	f.titleHit = art(s.SKLive, "Reset your password", "reset-password",
		"Go to Settings, choose Security and follow the link we email you.", "published", f.account)
	f.other = art(s.SKLive, "Closing an account", "closing-account",
		"Write to support and we close it within a day.", "published", f.account)
	f.draft = art(s.SKLive, "Password policy draft", "password-policy",
		"Internal: password rules are not final.", "draft", f.account)
	f.testArticle = art(s.SKTest, "Test password article", "test-password",
		"Sandbox password content.", "published", f.testCategory)
	return f
}

// TestAPILibrary: the public Library API serves live, published content
// without a key, and test content with a test key.
func TestAPILibrary(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		f := setupLibrary(t, s)
		other := s.CreateTeam(t, "Other", apptest.UniqueSlug("other"))

		for _, ref := range []string{s.Team.Slug, s.Team.ID} {
			base := "/api/library/" + ref
			t.Run("articles via "+ref, func(t *testing.T) {
				ids := s.Do(t, "GET", base+"/articles", "", nil).Want(t, 200).IDs(t)
				if want := []string{f.other, f.titleHit, f.bodyHit}; !slices.Equal(ids, want) {
					t.Errorf("articles: got %v, want the live published ones newest first %v", ids, want)
				}
				ids = s.Do(t, "GET", base+"/articles?category=account", "", nil).Want(t, 200).IDs(t)
				if want := []string{f.other, f.titleHit}; !slices.Equal(ids, want) {
					t.Errorf("articles?category=account: got %v, want %v", ids, want)
				}
				ids = s.Do(t, "GET", base+"/articles?category="+f.billing, "", nil).Want(t, 200).IDs(t)
				if want := []string{f.bodyHit}; !slices.Equal(ids, want) {
					t.Errorf("articles?category=<billing id>: got %v, want %v", ids, want)
				}
				walked, _ := s.walk(t, base+"/articles", "", 1)
				if want := []string{f.other, f.titleHit, f.bodyHit}; !slices.Equal(walked, want) {
					t.Errorf("walked articles: got %v, want %v", walked, want)
				}
			})
			t.Run("article by slug via "+ref, func(t *testing.T) {
				d := s.Do(t, "GET", base+"/articles/reset-password", "", nil).Want(t, 200).Data(t)
				if str(d["id"]) != f.titleHit || str(d["title"]) != "Reset your password" || str(d["status"]) != "published" {
					t.Errorf("article: got %v", d)
				}
				if !strings.Contains(str(d["body"]), "Settings") {
					t.Errorf("article body: got %q", d["body"])
				}
				for _, slug := range []string{"password-policy", "test-password", "no-such-article", f.titleHit, "Reset-Password"} {
					s.Do(t, "GET", base+"/articles/"+slug, "", nil).WantError(t, 404, "")
				}
			})
			t.Run("categories via "+ref, func(t *testing.T) {
				ids := s.Do(t, "GET", base+"/categories", "", nil).Want(t, 200).IDs(t)
				if want := []string{f.billing, f.account}; !slices.Equal(ids, want) {
					t.Errorf("categories: got %v, want %v", ids, want)
				}
			})
			t.Run("search via "+ref, func(t *testing.T) {
				r := s.Do(t, "GET", base+"/search?q=password", "", nil).Want(t, 200)
				hits := r.Items(t)
				var ids []string
				for _, h := range hits {
					ids = append(ids, str(h["id"]))
					if str(h["snippet"]) == "" {
						t.Errorf("hit %v: empty snippet", h["id"])
					}
					if str(h["status"]) != "published" {
						t.Errorf("hit %v: status %v", h["id"], h["status"])
					}
				}
				if want := []string{f.titleHit, f.bodyHit}; !slices.Equal(ids, want) {
					t.Fatalf("search password: got %v, want the title hit then the body hit %v", ids, want)
				}
				if sn := strings.ToLower(str(hits[1]["snippet"])); !strings.Contains(sn, "password") {
					t.Errorf("body hit snippet: got %q, want it to show the match", hits[1]["snippet"])
				}
				if len(str(hits[1]["snippet"])) >= len("Open Billing, enter the card number and confirm with your password when asked.")+20 {
					t.Errorf("snippet is not an excerpt: %q", hits[1]["snippet"])
				}
				ids = s.Do(t, "GET", base+"/search?q="+url.QueryEscape("Close account"), "", nil).Want(t, 200).IDs(t)
				if !slices.Contains(ids, f.other) {
					t.Errorf("search 'Close account': got %v, want %s", ids, f.other)
				}
				ids = s.Do(t, "GET", base+"/search?q=card", "", nil).Want(t, 200).IDs(t)
				if !slices.Equal(ids, []string{f.bodyHit}) {
					t.Errorf("search card: got %v, want [%s]", ids, f.bodyHit)
				}
				if ids := s.Do(t, "GET", base+"/search?q=zebra", "", nil).Want(t, 200).IDs(t); len(ids) != 0 {
					t.Errorf("search zebra: got %v, want none", ids)
				}
				if ids := s.Do(t, "GET", base+"/search?q=password&limit=1", "", nil).Want(t, 200).IDs(t); !slices.Equal(ids, []string{f.titleHit}) {
					t.Errorf("search limit=1: got %v, want [%s]", ids, f.titleHit)
				}
			})
		}

		t.Run("query syntax is only words", func(t *testing.T) {
			for _, q := range []string{`pass"word`, `password OR zebra`, `*`, `password AND (`, `NEAR(a b)`, `-password`, `p:assword`, `'`, `\`} {
				r := s.Do(t, "GET", "/api/library/"+s.Team.Slug+"/search?q="+url.QueryEscape(q), "", nil)
				if r.Status != 200 {
					t.Errorf("search %q: got %s, want 200", q, r)
				}
			}
		})

		t.Run("bad requests", func(t *testing.T) {
			base := "/api/library/" + s.Team.Slug
			for _, q := range []string{"/search", "/search?q=", "/search?q=%20%20"} {
				s.Do(t, "GET", base+q, "", nil).WantError(t, 400, "").WantField(t, "q")
			}
			s.Do(t, "GET", base+"/search?q="+strings.Repeat("a", 201), "", nil).WantError(t, 400, "").WantField(t, "q")
			s.Do(t, "GET", base+"/search?q=x&limit=0", "", nil).WantError(t, 400, "").WantField(t, "limit")
			s.Do(t, "GET", base+"/search?q=x&limit=51", "", nil).WantError(t, 400, "").WantField(t, "limit")
			s.Do(t, "GET", base+"/articles?category=no-such-category", "", nil).WantError(t, 404, "")
			for _, team := range []string{"no-such-team", uuid.NewString(), "Bad_Slug"} {
				for _, p := range []string{"/articles", "/articles/reset-password", "/categories", "/search?q=password"} {
					s.Do(t, "GET", "/api/library/"+team+p, "", nil).WantError(t, 404, "")
				}
			}
		})

		t.Run("test content with a test key", func(t *testing.T) {
			base := "/api/library/" + s.Team.Slug
			for _, key := range []string{s.PKTest, s.SKTest} {
				if ids := s.Do(t, "GET", base+"/articles", key, nil).Want(t, 200).IDs(t); !slices.Equal(ids, []string{f.testArticle}) {
					t.Errorf("test articles: got %v, want [%s]", ids, f.testArticle)
				}
				if ids := s.Do(t, "GET", base+"/categories", key, nil).Want(t, 200).IDs(t); !slices.Equal(ids, []string{f.testCategory}) {
					t.Errorf("test categories: got %v, want [%s]", ids, f.testCategory)
				}
				if ids := s.Do(t, "GET", base+"/search?q=password", key, nil).Want(t, 200).IDs(t); !slices.Equal(ids, []string{f.testArticle}) {
					t.Errorf("test search: got %v, want [%s]", ids, f.testArticle)
				}
				s.Do(t, "GET", base+"/articles/test-password", key, nil).Want(t, 200)
				s.Do(t, "GET", base+"/articles/reset-password", key, nil).WantError(t, 404, "")
			}
			// A live key gives live content.
			if ids := s.Do(t, "GET", base+"/articles", s.PKLive, nil).Want(t, 200).IDs(t); len(ids) != 3 {
				t.Errorf("live articles with pk_live: got %v, want 3", ids)
			}
		})

		t.Run("bad or foreign key", func(t *testing.T) {
			base := "/api/library/" + s.Team.Slug + "/articles"
			r := s.Do(t, "GET", base, flipLast(s.PKTest), nil)
			r.WantError(t, 401, protocol.MsgInvalidAPIKey)
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate: got %q", r.Header.Get("WWW-Authenticate"))
			}
			s.Do(t, "GET", base, "", nil, "Authorization", "Basic Zm9vOmJhcg==").WantError(t, 401, protocol.MsgInvalidAPIKey)
			s.Do(t, "GET", base, other.Keys["pk_test"].Secret, nil).WantError(t, 403, "")
		})

		t.Run("unpublishing hides an article", func(t *testing.T) {
			s.Do(t, "PATCH", s.Path("/articles/"+f.other), s.SKLive, map[string]any{"status": "draft"}).Want(t, 200)
			base := "/api/library/" + s.Team.Slug
			s.Do(t, "GET", base+"/articles/closing-account", "", nil).WantError(t, 404, "")
			if ids := s.Do(t, "GET", base+"/search?q=account", "", nil).Want(t, 200).IDs(t); slices.Contains(ids, f.other) {
				t.Errorf("search after unpublishing: got %v, want no %s", ids, f.other)
			}
			s.Do(t, "PATCH", s.Path("/articles/"+f.other), s.SKLive, map[string]any{"status": "published"}).Want(t, 200)
			s.Do(t, "GET", base+"/articles/closing-account", "", nil).Want(t, 200)
		})
	})
}
