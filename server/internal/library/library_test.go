package library_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/library"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// env is a migrated database with two teams and a library service whose
// clock the test moves.
type env struct {
	svc *library.Service
	now time.Time
	// a and aTest are one team's live and test scopes, b another team's.
	a, aTest, b scope.Scope
}

func setup(t *testing.T, url string) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, url)
	e := &env{now: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)}
	teams := team.NewService(db, func() time.Time { return e.now })
	ta, err := teams.Create(ctx, "Acme", "acme")
	if err != nil {
		t.Fatalf("create team: %v", err)
	}
	tb, err := teams.Create(ctx, "Beta", "beta")
	if err != nil {
		t.Fatalf("create team: %v", err)
	}
	e.a = scope.Scope{TeamID: ta.ID, Mode: scope.Live}
	e.aTest = scope.Scope{TeamID: ta.ID, Mode: scope.Test}
	e.b = scope.Scope{TeamID: tb.ID, Mode: scope.Live}
	e.svc = library.NewService(db, func() time.Time { return e.now })
	return e
}

func str(s string) *string { return &s }

func wantCode(t *testing.T, what string, err error, code errs.Code) {
	t.Helper()
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("%s: got %v (%s), want %s", what, err, got, code)
	}
}

func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	e, ok := err.(*errs.Error)
	if !ok || e.Code != errs.Invalid || e.Field != field {
		t.Fatalf("%s: got %v, want invalid %s", what, err, field)
	}
}

func wantNotFound(t *testing.T, what string, err error, msg string) {
	t.Helper()
	e, ok := err.(*errs.Error)
	if !ok || e.Code != errs.NotFound || e.Message != msg {
		t.Fatalf("%s: got %v, want not_found %q", what, err, msg)
	}
}

func TestCategories(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e := setup(t, url)
		svc, sc := e.svc, e.a

		c, err := svc.CreateCategory(ctx, sc, library.CategoryInput{Name: str("  Getting Started "), Description: str("First steps")})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		want := library.Category{ID: c.ID, TeamID: sc.TeamID, Mode: sc.Mode, Name: "Getting Started",
			Slug: "getting-started", Description: "First steps", CreatedAt: e.now, UpdatedAt: e.now}
		if c != want {
			t.Fatalf("create: got %+v, want %+v", c, want)
		}
		if _, err := uuid.Parse(c.ID); err != nil {
			t.Fatalf("id: got %q, want a UUID", c.ID)
		}

		// Generated slugs move on to -2, -3; explicit ones conflict.
		for _, slug := range []string{"getting-started-2", "getting-started-3"} {
			got, err := svc.CreateCategory(ctx, sc, library.CategoryInput{Name: str("Getting started!")})
			if err != nil || got.Slug != slug {
				t.Fatalf("create duplicate name: got %q, %v; want %q", got.Slug, err, slug)
			}
		}
		got, err := svc.CreateCategory(ctx, sc, library.CategoryInput{Name: str("Crème brûlée"), Slug: str("")})
		if err != nil || got.Slug != "creme-brulee" {
			t.Fatalf("create with empty slug: got %q, %v; want creme-brulee", got.Slug, err)
		}
		_, err = svc.CreateCategory(ctx, sc, library.CategoryInput{Name: str("Other"), Slug: str("getting-started")})
		wantCode(t, "explicit taken slug", err, errs.Conflict)
		if want := `slug "getting-started" is already in use`; err.(*errs.Error).Message != want {
			t.Fatalf("conflict message: got %q, want %q", err.(*errs.Error).Message, want)
		}
		got, err = svc.CreateCategory(ctx, sc, library.CategoryInput{Name: str("Other"), Slug: str("billing")})
		if err != nil || got.Slug != "billing" {
			t.Fatalf("explicit slug: got %q, %v; want billing", got.Slug, err)
		}
		// Slugs are unique per team and mode only.
		for _, other := range []scope.Scope{e.aTest, e.b} {
			got, err := svc.CreateCategory(ctx, other, library.CategoryInput{Name: str("Getting Started"), Slug: str("billing")})
			if err != nil || got.Slug != "billing" {
				t.Fatalf("same slug in %v: got %q, %v; want billing", other, got.Slug, err)
			}
		}

		invalid := []struct {
			name  string
			in    library.CategoryInput
			field string
		}{
			{"no name", library.CategoryInput{}, "name"},
			{"empty name", library.CategoryInput{Name: str("")}, "name"},
			{"blank name", library.CategoryInput{Name: str("   ")}, "name"},
			{"long name", library.CategoryInput{Name: str(strings.Repeat("x", 201))}, "name"},
			{"NUL in name", library.CategoryInput{Name: str("a\x00b")}, "name"},
			{"bad UTF-8", library.CategoryInput{Name: str("a\xffb")}, "name"},
			{"long description", library.CategoryInput{Name: str("x"), Description: str(strings.Repeat("d", 2001))}, "description"},
			{"upper-case slug", library.CategoryInput{Name: str("x"), Slug: str("Bad")}, "slug"},
			{"slug with space", library.CategoryInput{Name: str("x"), Slug: str("a b")}, "slug"},
			{"leading dash", library.CategoryInput{Name: str("x"), Slug: str("-a")}, "slug"},
			{"long slug", library.CategoryInput{Name: str("x"), Slug: str(strings.Repeat("a", 101))}, "slug"},
		}
		for _, tt := range invalid {
			t.Run(tt.name, func(t *testing.T) {
				_, err := svc.CreateCategory(ctx, sc, tt.in)
				wantInvalid(t, "create", err, tt.field)
				_, err = svc.UpdateCategory(ctx, sc, c.ID, library.CategoryInput{Name: tt.in.Name, Slug: tt.in.Slug, Description: tt.in.Description})
				if tt.in.Name != nil || tt.in.Slug != nil || tt.in.Description != nil {
					wantInvalid(t, "update", err, tt.field)
				}
			})
		}
		// Limits count characters, not bytes.
		if _, err := svc.CreateCategory(ctx, sc, library.CategoryInput{Name: str(strings.Repeat("é", 200)),
			Description: str(strings.Repeat("ü", 2000))}); err != nil {
			t.Fatalf("200-character name: got %v, want success", err)
		}

		for _, id := range []string{c.ID, strings.ToUpper(c.ID)} {
			got, err := svc.Category(ctx, sc, id)
			if err != nil || got != c {
				t.Fatalf("get %s: got %+v, %v; want %+v", id, got, err, c)
			}
		}
		if got, err := svc.CategoryBySlug(ctx, sc, "getting-started"); err != nil || got != c {
			t.Fatalf("by slug: got %+v, %v; want %+v", got, err, c)
		}
		for _, id := range []string{"", "nope", "1", c.ID + "x", "' OR 1=1 --", uuid.NewString()} {
			_, err := svc.Category(ctx, sc, id)
			wantNotFound(t, "get "+id, err, "Category not found")
			_, err = svc.UpdateCategory(ctx, sc, id, library.CategoryInput{Name: str("x")})
			wantNotFound(t, "update "+id, err, "Category not found")
			wantNotFound(t, "delete "+id, svc.DeleteCategory(ctx, sc, id), "Category not found")
		}
		for _, slug := range []string{"", "Getting-Started", "nope", "a b", "%"} {
			_, err := svc.CategoryBySlug(ctx, sc, slug)
			wantNotFound(t, "by slug "+slug, err, "Category not found")
		}

		// A rename keeps the slug; a slug changes only when given.
		e.now = e.now.Add(time.Hour)
		up, err := svc.UpdateCategory(ctx, sc, c.ID, library.CategoryInput{Name: str("Start here")})
		if err != nil || up.Name != "Start here" || up.Slug != "getting-started" || up.Description != "First steps" ||
			!up.UpdatedAt.Equal(e.now) || !up.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("rename: got %+v, %v", up, err)
		}
		up, err = svc.UpdateCategory(ctx, sc, c.ID, library.CategoryInput{Slug: str("start-here"), Description: str("")})
		if err != nil || up.Slug != "start-here" || up.Description != "" || up.Name != "Start here" {
			t.Fatalf("change slug: got %+v, %v", up, err)
		}
		if got, err := svc.Category(ctx, sc, c.ID); err != nil || got != up {
			t.Fatalf("get after update: got %+v, %v; want %+v", got, err, up)
		}
		_, err = svc.UpdateCategory(ctx, sc, c.ID, library.CategoryInput{Slug: str("billing")})
		wantCode(t, "update to taken slug", err, errs.Conflict)
		_, err = svc.UpdateCategory(ctx, sc, c.ID, library.CategoryInput{Slug: str("")})
		wantInvalid(t, "update to empty slug", err, "slug")
		if _, err := svc.UpdateCategory(ctx, sc, c.ID, library.CategoryInput{Slug: str("start-here")}); err != nil {
			t.Fatalf("update to own slug: %v", err)
		}
		// The freed slug can be generated again.
		again, err := svc.CreateCategory(ctx, sc, library.CategoryInput{Name: str("Getting started")})
		if err != nil || again.Slug != "getting-started" {
			t.Fatalf("reuse freed slug: got %q, %v", again.Slug, err)
		}

		if err := svc.DeleteCategory(ctx, sc, c.ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		_, err = svc.Category(ctx, sc, c.ID)
		wantNotFound(t, "get deleted", err, "Category not found")
		wantNotFound(t, "delete twice", svc.DeleteCategory(ctx, sc, c.ID), "Category not found")
	})
}

func TestArticles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e := setup(t, url)
		svc, sc := e.svc, e.a
		cat, err := svc.CreateCategory(ctx, sc, library.CategoryInput{Name: str("Account")})
		if err != nil {
			t.Fatalf("create category: %v", err)
		}
		otherCat, err := svc.CreateCategory(ctx, e.aTest, library.CategoryInput{Name: str("Account")})
		if err != nil {
			t.Fatalf("create category: %v", err)
		}

		created := e.now
		a, err := svc.CreateArticle(ctx, sc, library.ArticleInput{Title: str(" Reset your password "), Body: str("# Steps\n\nClick *Forgot password*.")})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		want := library.Article{ID: a.ID, TeamID: sc.TeamID, Mode: sc.Mode, Title: "Reset your password",
			Slug: "reset-your-password", Body: "# Steps\n\nClick *Forgot password*.", Status: library.Draft,
			CreatedAt: created, UpdatedAt: created}
		if fmt.Sprint(a) != fmt.Sprint(want) {
			t.Fatalf("create: got %+v, want %+v", a, want)
		}
		if got, err := svc.Article(ctx, sc, a.ID); err != nil || fmt.Sprint(got) != fmt.Sprint(a) {
			t.Fatalf("get: got %+v, %v; want %+v", got, err, a)
		}
		if got, err := svc.ArticleBySlug(ctx, sc, "reset-your-password"); err != nil || got.ID != a.ID {
			t.Fatalf("by slug: got %+v, %v", got, err)
		}

		p, err := svc.CreateArticle(ctx, sc, library.ArticleInput{Title: str("Reset your password"), Status: str("published"),
			CategoryID: str(strings.ToUpper(cat.ID))})
		if err != nil || p.Slug != "reset-your-password-2" || p.PublishedAt == nil || !p.PublishedAt.Equal(created) ||
			p.CategoryID != cat.ID || p.Body != "" {
			t.Fatalf("create published: got %+v, %v", p, err)
		}
		_, err = svc.CreateArticle(ctx, sc, library.ArticleInput{Title: str("x"), Slug: str("reset-your-password")})
		wantCode(t, "explicit taken slug", err, errs.Conflict)

		invalid := []struct {
			name  string
			in    library.ArticleInput
			field string
		}{
			{"no title", library.ArticleInput{}, "title"},
			{"blank title", library.ArticleInput{Title: str(" \n")}, "title"},
			{"long title", library.ArticleInput{Title: str(strings.Repeat("t", 301))}, "title"},
			{"NUL in body", library.ArticleInput{Title: str("x"), Body: str("a\x00")}, "body"},
			{"large body", library.ArticleInput{Title: str("x"), Body: str(strings.Repeat("b", 200<<10+1))}, "body"},
			{"status", library.ArticleInput{Title: str("x"), Status: str("archived")}, "status"},
			{"empty status", library.ArticleInput{Title: str("x"), Status: str("")}, "status"},
			{"slug", library.ArticleInput{Title: str("x"), Slug: str("no_underscores")}, "slug"},
			{"category not a UUID", library.ArticleInput{Title: str("x"), CategoryID: str("account")}, "category_id"},
			{"unknown category", library.ArticleInput{Title: str("x"), CategoryID: str(uuid.NewString())}, "category_id"},
			{"category of the other mode", library.ArticleInput{Title: str("x"), CategoryID: str(otherCat.ID)}, "category_id"},
		}
		for _, tt := range invalid {
			t.Run(tt.name, func(t *testing.T) {
				_, err := svc.CreateArticle(ctx, sc, tt.in)
				wantInvalid(t, "create", err, tt.field)
				if tt.in.Title != nil && tt.field != "title" {
					tt.in.Title = nil
				}
				if tt.in != (library.ArticleInput{}) {
					_, err = svc.UpdateArticle(ctx, sc, a.ID, tt.in)
					wantInvalid(t, "update", err, tt.field)
				}
			})
		}
		if _, err := svc.CreateArticle(ctx, sc, library.ArticleInput{Title: str(strings.Repeat("é", 300)),
			Body: str(strings.Repeat("b", 200<<10))}); err != nil {
			t.Fatalf("maximal article: %v", err)
		}

		// published_at is set the first time the article is published.
		e.now = e.now.Add(time.Hour)
		firstPub := e.now
		up, err := svc.UpdateArticle(ctx, sc, a.ID, library.ArticleInput{Status: str("published"), CategoryID: str(cat.ID)})
		if err != nil || up.Status != "published" || up.PublishedAt == nil || !up.PublishedAt.Equal(firstPub) ||
			up.CategoryID != cat.ID || up.Title != a.Title || up.Slug != a.Slug || !up.UpdatedAt.Equal(firstPub) ||
			!up.CreatedAt.Equal(created) {
			t.Fatalf("publish: got %+v, %v", up, err)
		}
		e.now = e.now.Add(time.Hour)
		up, err = svc.UpdateArticle(ctx, sc, a.ID, library.ArticleInput{Status: str("draft"), Title: str("Reset a password")})
		if err != nil || up.Status != "draft" || up.PublishedAt == nil || !up.PublishedAt.Equal(firstPub) ||
			up.Title != "Reset a password" || up.Slug != "reset-your-password" {
			t.Fatalf("unpublish: got %+v, %v", up, err)
		}
		e.now = e.now.Add(time.Hour)
		up, err = svc.UpdateArticle(ctx, sc, a.ID, library.ArticleInput{Status: str("published")})
		if err != nil || !up.PublishedAt.Equal(firstPub) {
			t.Fatalf("republish: got %+v, %v; want published_at %v", up, err, firstPub)
		}
		if got, err := svc.Article(ctx, sc, a.ID); err != nil || fmt.Sprint(got) != fmt.Sprint(up) {
			t.Fatalf("get after update: got %+v, %v; want %+v", got, err, up)
		}
		up, err = svc.UpdateArticle(ctx, sc, a.ID, library.ArticleInput{Slug: str("password-reset"), Body: str("new body")})
		if err != nil || up.Slug != "password-reset" || up.Body != "new body" || up.CategoryID != cat.ID {
			t.Fatalf("change slug: got %+v, %v", up, err)
		}
		_, err = svc.UpdateArticle(ctx, sc, a.ID, library.ArticleInput{Slug: str(p.Slug)})
		wantCode(t, "update to taken slug", err, errs.Conflict)
		up, err = svc.UpdateArticle(ctx, sc, a.ID, library.ArticleInput{CategoryID: str("")})
		if err != nil || up.CategoryID != "" {
			t.Fatalf("clear category: got %q, %v", up.CategoryID, err)
		}
		if got, _ := svc.Article(ctx, sc, a.ID); got.CategoryID != "" {
			t.Fatalf("cleared category stored: got %q, want none", got.CategoryID)
		}

		// Deleting a category leaves its articles without one.
		if err := svc.DeleteCategory(ctx, sc, cat.ID); err != nil {
			t.Fatalf("delete category: %v", err)
		}
		if got, err := svc.Article(ctx, sc, p.ID); err != nil || got.CategoryID != "" {
			t.Fatalf("article of deleted category: got %q, %v; want none", got.CategoryID, err)
		}

		for _, id := range []string{"", "nope", a.ID[:35], uuid.NewString()} {
			_, err := svc.Article(ctx, sc, id)
			wantNotFound(t, "get "+id, err, "Article not found")
			_, err = svc.UpdateArticle(ctx, sc, id, library.ArticleInput{Title: str("x")})
			wantNotFound(t, "update "+id, err, "Article not found")
			wantNotFound(t, "delete "+id, svc.DeleteArticle(ctx, sc, id), "Article not found")
		}
		for _, slug := range []string{"", "Reset", "reset-your-password", "a%"} {
			_, err := svc.ArticleBySlug(ctx, sc, slug)
			wantNotFound(t, "by slug "+slug, err, "Article not found")
		}
		if err := svc.DeleteArticle(ctx, sc, a.ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		_, err = svc.Article(ctx, sc, a.ID)
		wantNotFound(t, "get deleted", err, "Article not found")
		wantNotFound(t, "delete twice", svc.DeleteArticle(ctx, sc, a.ID), "Article not found")
	})
}

// collect walks every page of a list and returns the ids, page by page.
func collect[T any](t *testing.T, limit int, list func(page.Params) (page.Page[T], error), id func(T) string) [][]string {
	t.Helper()
	var pages [][]string
	p := page.Params{Limit: limit}
	for {
		pg, err := list(p)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		var ids []string
		for _, it := range pg.Items {
			ids = append(ids, id(it))
		}
		pages = append(pages, ids)
		if pg.HasMore != (pg.Next != "") {
			t.Fatalf("page: HasMore %v with Next %q", pg.HasMore, pg.Next)
		}
		if !pg.HasMore {
			return pages
		}
		if p, err = page.NewParams(limit, pg.Next); err != nil {
			t.Fatalf("cursor: %v", err)
		}
	}
}

func TestLists(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e := setup(t, url)
		svc, sc := e.svc, e.a
		var cats []string
		for i := range 5 {
			c, err := svc.CreateCategory(ctx, sc, library.CategoryInput{Name: str(fmt.Sprint("Category ", i))})
			if err != nil {
				t.Fatalf("create category: %v", err)
			}
			cats = append(cats, c.ID)
		}
		// Other scopes' rows must not show up.
		for _, other := range []scope.Scope{e.aTest, e.b} {
			c, err := svc.CreateCategory(ctx, other, library.CategoryInput{Name: str("Elsewhere")})
			if err != nil {
				t.Fatalf("create category: %v", err)
			}
			if _, err := svc.CreateArticle(ctx, other, library.ArticleInput{Title: str("Elsewhere"), Status: str("published"), CategoryID: &c.ID}); err != nil {
				t.Fatalf("create article: %v", err)
			}
		}
		got := collect(t, 2, func(p page.Params) (page.Page[library.Category], error) { return svc.ListCategories(ctx, sc, p) },
			func(c library.Category) string { return c.ID })
		want := [][]string{{cats[4], cats[3]}, {cats[2], cats[1]}, {cats[0]}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("category pages: got %v, want %v", got, want)
		}
		if got := collect(t, 5, func(p page.Params) (page.Page[library.Category], error) { return svc.ListCategories(ctx, sc, p) },
			func(c library.Category) string { return c.ID }); len(got) != 1 || len(got[0]) != 5 {
			t.Fatalf("exact page: got %v, want one page of 5", got)
		}
		if pg, err := svc.ListCategories(ctx, sc, page.Params{}); err != nil || len(pg.Items) != 5 || pg.HasMore {
			t.Fatalf("default limit: got %d items, more %v, %v", len(pg.Items), pg.HasMore, err)
		}
		for _, after := range []string{"garbage", "' OR 1=1"} {
			_, err := svc.ListCategories(ctx, sc, page.Params{Limit: 2, After: after})
			wantInvalid(t, "bad cursor", err, "cursor")
			_, err = svc.ListArticles(ctx, sc, library.ArticleFilter{}, page.Params{Limit: 2, After: after})
			wantInvalid(t, "bad cursor", err, "cursor")
		}

		// Articles: odd ones published, every third one in cats[0].
		type art struct{ id, status, cat string }
		var arts []art
		for i := range 7 {
			in := library.ArticleInput{Title: str(fmt.Sprint("Article ", i)), Status: str("draft")}
			if i%2 == 1 {
				in.Status = str("published")
			}
			if i%3 == 0 {
				in.CategoryID = &cats[0]
			}
			a, err := svc.CreateArticle(ctx, sc, in)
			if err != nil {
				t.Fatalf("create article: %v", err)
			}
			arts = append(arts, art{a.ID, a.Status, a.CategoryID})
		}
		filters := []struct {
			name string
			f    library.ArticleFilter
		}{
			{"all", library.ArticleFilter{}},
			{"published", library.ArticleFilter{Status: "published"}},
			{"draft", library.ArticleFilter{Status: "draft"}},
			{"category", library.ArticleFilter{CategoryID: cats[0]}},
			{"published in category", library.ArticleFilter{CategoryID: cats[0], Status: "published"}},
			{"empty category", library.ArticleFilter{CategoryID: cats[1]}},
			{"category not a UUID", library.ArticleFilter{CategoryID: "nope"}},
		}
		for _, tt := range filters {
			t.Run(tt.name, func(t *testing.T) {
				var want []string
				for i := len(arts) - 1; i >= 0; i-- {
					a := arts[i]
					if (tt.f.Status == "" || a.status == tt.f.Status) && (tt.f.CategoryID == "" || a.cat == tt.f.CategoryID) {
						want = append(want, a.id)
					}
				}
				pages := collect(t, 2, func(p page.Params) (page.Page[library.Article], error) { return svc.ListArticles(ctx, sc, tt.f, p) },
					func(a library.Article) string { return a.ID })
				var got []string
				for i, pg := range pages {
					if len(pg) > 2 || (len(pg) < 2 && i != len(pages)-1) {
						t.Fatalf("pages: got %v, want full pages of 2", pages)
					}
					got = append(got, pg...)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("articles: got %v, want %v", got, want)
				}
			})
		}
		_, err := svc.ListArticles(ctx, sc, library.ArticleFilter{Status: "archived"}, page.Params{})
		wantInvalid(t, "bad status filter", err, "status")
	})
}

func TestSearch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e := setup(t, url)
		svc, sc := e.svc, e.a
		create := func(sc scope.Scope, title, body, status string) string {
			t.Helper()
			a, err := svc.CreateArticle(ctx, sc, library.ArticleInput{Title: &title, Body: &body, Status: &status})
			if err != nil {
				t.Fatalf("create %q: %v", title, err)
			}
			return a.ID
		}
		inTitle := create(sc, "Resetting your password", "Open **Settings**, choose *Security* and pick a new one. "+
			"You will be signed out of every other device.", "published")
		inBody := create(sc, "Billing and invoices", "Invoices are sent monthly by email. If you cannot sign in to "+
			"download them, reset your password first and come back to this page.", "published")
		shipping := create(sc, "Shipping times", "Orders leave our warehouse within two days.", "published")
		create(sc, "Password policy", "Passwords need twelve characters.", "draft")
		elsewhere := map[scope.Scope]string{}
		for _, other := range []scope.Scope{e.aTest, e.b} {
			elsewhere[other] = create(other, "Password help", "Forgot your password? Reset it.", "published")
		}

		tests := []struct {
			q    string
			want []string
		}{
			{"password", []string{inTitle, inBody}},
			{"passwords", []string{inTitle, inBody}},
			{"PASSWORD", []string{inTitle, inBody}},
			{"  password  ", []string{inTitle, inBody}},
			{"reset password", []string{inTitle, inBody}},
			{"how do I reset my password?", []string{inTitle, inBody}},
			{"invoice", []string{inBody}},
			{"warehouse", []string{shipping}},
			{"password warehouse", nil},
			{"twelve", nil},
			{"kangaroo", nil},
			{`"password`, []string{inTitle, inBody}},
			{"password*", []string{inTitle, inBody}},
			{"(password)", []string{inTitle, inBody}},
			// Hostile input must never be query syntax or an error.
			{`"`, nil},
			{`""`, nil},
			{"AND OR NOT", nil},
			{"*", nil},
			{")(", nil},
			{"NEAR(", nil},
			{"^", nil},
			{"-", nil},
			{"'", nil},
			{`\`, nil},
			{"%_", nil},
			{":", nil},
			{"title:", nil},
			{"!!", nil},
			{"the", nil},
			{"日本語", nil},
			{"'; DROP TABLE articles; --", nil},
		}
		for _, tt := range tests {
			t.Run(tt.q, func(t *testing.T) {
				hits, err := svc.Search(ctx, sc, tt.q, 0)
				if err != nil {
					t.Fatalf("search: %v", err)
				}
				var got []string
				for i, h := range hits {
					got = append(got, h.Article.ID)
					if i > 0 && h.Rank > hits[i-1].Rank {
						t.Fatalf("rank: hit %d has %v above %v", i, h.Rank, hits[i-1].Rank)
					}
					if h.Article.Status != "published" || h.Article.TeamID != sc.TeamID || h.Article.Mode != sc.Mode {
						t.Fatalf("hit: got %+v, want a published article of %v", h.Article, sc)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("hits: got %v, want %v", got, tt.want)
				}
			})
		}

		hits, err := svc.Search(ctx, sc, "reset password", 0)
		if err != nil || len(hits) != 2 {
			t.Fatalf("search: got %d hits, %v", len(hits), err)
		}
		if s := hits[1].Snippet; !strings.Contains(s, "password") || strings.ContainsAny(s, "<>") || len(s) > 300 {
			t.Fatalf("snippet: got %q, want short plain text around the match", s)
		}
		if hits[1].Article.Title != "Billing and invoices" || hits[1].Article.Body == "" {
			t.Fatalf("hit article: got %+v", hits[1].Article)
		}
		if hits, err := svc.Search(ctx, sc, "password", 1); err != nil || len(hits) != 1 || hits[0].Article.ID != inTitle {
			t.Fatalf("limit 1: got %v, %v", hits, err)
		}
		for other, id := range elsewhere {
			hits, err := svc.Search(ctx, other, "password", 100)
			if err != nil || len(hits) != 1 || hits[0].Article.ID != id {
				t.Fatalf("search in %v: got %v, %v; want only %s", other, hits, err, id)
			}
		}

		for _, q := range []string{"", "   ", "\t\n", strings.Repeat("a", 201), "a\x00b", "\xff"} {
			_, err := svc.Search(ctx, sc, q, 0)
			wantInvalid(t, fmt.Sprintf("search %q", q), err, "q")
		}
		if _, err := svc.Search(ctx, sc, strings.Repeat("é", 200), 0); err != nil {
			t.Fatalf("200-character query: %v", err)
		}

		// Unpublishing and deleting take articles out of the results.
		if _, err := svc.UpdateArticle(ctx, sc, inTitle, library.ArticleInput{Status: str("draft")}); err != nil {
			t.Fatalf("unpublish: %v", err)
		}
		if err := svc.DeleteArticle(ctx, sc, inBody); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if hits, err := svc.Search(ctx, sc, "password", 0); err != nil || len(hits) != 0 {
			t.Fatalf("after unpublish and delete: got %v, %v; want none", hits, err)
		}
		// Edits are searchable at once.
		if _, err := svc.UpdateArticle(ctx, sc, shipping, library.ArticleInput{Body: str("Parcels travel by kangaroo.")}); err != nil {
			t.Fatalf("update: %v", err)
		}
		if hits, err := svc.Search(ctx, sc, "kangaroos", 0); err != nil || len(hits) != 1 || hits[0].Article.ID != shipping {
			t.Fatalf("after edit: got %v, %v; want %s", hits, err, shipping)
		}
		if hits, err := svc.Search(ctx, sc, "warehouse", 0); err != nil || len(hits) != 0 {
			t.Fatalf("old text after edit: got %v, %v; want none", hits, err)
		}
	})
}

func TestSearchLimit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e := setup(t, url)
		for i := range 55 {
			_, err := e.svc.CreateArticle(ctx, e.a, library.ArticleInput{Title: str(fmt.Sprint("Refund ", i)), Status: str("published")})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
		}
		for _, tt := range []struct{ limit, want int }{{0, 10}, {-1, 10}, {1, 1}, {50, 50}, {51, 50}, {1000, 50}} {
			hits, err := e.svc.Search(ctx, e.a, "refunds", tt.limit)
			if err != nil || len(hits) != tt.want {
				t.Fatalf("limit %d: got %d hits, %v; want %d", tt.limit, len(hits), err, tt.want)
			}
		}
	})
}

// TestIsolation checks every method, in both directions, across modes and
// across teams: nothing of one scope is visible or writable from another.
func TestIsolation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e := setup(t, url)
		svc := e.svc
		pairs := []struct {
			name         string
			owner, other scope.Scope
		}{
			{"live to test", e.a, e.aTest},
			{"test to live", e.aTest, e.a},
			{"team a to b", e.a, e.b},
			{"team b to a", e.b, e.a},
		}
		for i, p := range pairs {
			t.Run(p.name, func(t *testing.T) {
				slug := fmt.Sprint("isolated-", i)
				c, err := svc.CreateCategory(ctx, p.owner, library.CategoryInput{Name: str("Isolated"), Slug: str(slug)})
				if err != nil {
					t.Fatalf("create category: %v", err)
				}
				a, err := svc.CreateArticle(ctx, p.owner, library.ArticleInput{Title: str(fmt.Sprint("Zebra ", i)),
					Slug: str(slug), Status: str("published"), CategoryID: &c.ID, Body: str("zebra stripes")})
				if err != nil {
					t.Fatalf("create article: %v", err)
				}
				o := p.other

				_, err = svc.Category(ctx, o, c.ID)
				wantNotFound(t, "Category", err, "Category not found")
				_, err = svc.CategoryBySlug(ctx, o, slug)
				wantNotFound(t, "CategoryBySlug", err, "Category not found")
				_, err = svc.UpdateCategory(ctx, o, c.ID, library.CategoryInput{Name: str("Stolen")})
				wantNotFound(t, "UpdateCategory", err, "Category not found")
				wantNotFound(t, "DeleteCategory", svc.DeleteCategory(ctx, o, c.ID), "Category not found")
				cats, err := svc.ListCategories(ctx, o, page.Params{Limit: 100})
				if err != nil {
					t.Fatalf("ListCategories: %v", err)
				}
				for _, x := range cats.Items {
					if x.ID == c.ID {
						t.Fatalf("ListCategories: got the other scope's category")
					}
				}

				_, err = svc.Article(ctx, o, a.ID)
				wantNotFound(t, "Article", err, "Article not found")
				_, err = svc.ArticleBySlug(ctx, o, slug)
				wantNotFound(t, "ArticleBySlug", err, "Article not found")
				_, err = svc.UpdateArticle(ctx, o, a.ID, library.ArticleInput{Title: str("Stolen")})
				wantNotFound(t, "UpdateArticle", err, "Article not found")
				wantNotFound(t, "DeleteArticle", svc.DeleteArticle(ctx, o, a.ID), "Article not found")
				for _, f := range []library.ArticleFilter{{}, {CategoryID: c.ID}, {Status: "published"}} {
					arts, err := svc.ListArticles(ctx, o, f, page.Params{Limit: 100})
					if err != nil {
						t.Fatalf("ListArticles: %v", err)
					}
					for _, x := range arts.Items {
						if x.ID == a.ID {
							t.Fatalf("ListArticles(%+v): got the other scope's article", f)
						}
					}
				}
				if hits, err := svc.Search(ctx, o, "zebra", 50); err != nil || len(hits) != 0 {
					t.Fatalf("Search: got %v, %v; want none", hits, err)
				}
				_, err = svc.CreateArticle(ctx, o, library.ArticleInput{Title: str("x"), CategoryID: &c.ID})
				wantInvalid(t, "CreateArticle with the other scope's category", err, "category_id")

				// The same slugs are free in the other scope.
				oc, err := svc.CreateCategory(ctx, o, library.CategoryInput{Name: str("Mine"), Slug: str(slug)})
				if err != nil {
					t.Fatalf("same category slug elsewhere: %v", err)
				}
				oa, err := svc.CreateArticle(ctx, o, library.ArticleInput{Title: str("Mine"), Slug: str(slug)})
				if err != nil {
					t.Fatalf("same article slug elsewhere: %v", err)
				}
				_, err = svc.UpdateArticle(ctx, p.owner, oa.ID, library.ArticleInput{CategoryID: &c.ID})
				wantNotFound(t, "owner updates other's article", err, "Article not found")
				_, err = svc.UpdateArticle(ctx, o, oa.ID, library.ArticleInput{CategoryID: &c.ID})
				wantInvalid(t, "point at the other scope's category", err, "category_id")

				// Nothing the other scope did touched the owner's rows.
				if got, err := svc.Category(ctx, p.owner, c.ID); err != nil || got != c {
					t.Fatalf("owner's category: got %+v, %v; want %+v", got, err, c)
				}
				if got, err := svc.Article(ctx, p.owner, a.ID); err != nil || fmt.Sprint(got) != fmt.Sprint(a) {
					t.Fatalf("owner's article: got %+v, %v; want %+v", got, err, a)
				}
				if hits, err := svc.Search(ctx, p.owner, "zebra", 50); err != nil || len(hits) != 1 || hits[0].Article.ID != a.ID {
					t.Fatalf("owner's search: got %v, %v", hits, err)
				}
				// Clean up so the next pair starts from the owner's view only.
				for _, err := range []error{svc.DeleteArticle(ctx, o, oa.ID), svc.DeleteCategory(ctx, o, oc.ID),
					svc.DeleteArticle(ctx, p.owner, a.ID), svc.DeleteCategory(ctx, p.owner, c.ID)} {
					if err != nil {
						t.Fatalf("clean up: %v", err)
					}
				}
			})
		}
	})
}
