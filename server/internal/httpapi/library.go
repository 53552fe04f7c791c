package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/library"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/wire"
)

type categoryJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Slug        string    `json:"slug"`
	Description string    `json:"description"`
	Mode        string    `json:"mode"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func categoryOut(c library.Category) categoryJSON {
	return categoryJSON{ID: c.ID, Name: c.Name, Slug: c.Slug, Description: c.Description, Mode: string(c.Mode),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type articleJSON struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Slug        string     `json:"slug"`
	Body        string     `json:"body"`
	Status      string     `json:"status"`
	CategoryID  *string    `json:"category_id"`
	Mode        string     `json:"mode"`
	PublishedAt *time.Time `json:"published_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func articleOut(a library.Article) articleJSON {
	return articleJSON{ID: a.ID, Title: a.Title, Slug: a.Slug, Body: a.Body, Status: a.Status,
		CategoryID: wire.NilIfEmpty(a.CategoryID), Mode: string(a.Mode), PublishedAt: a.PublishedAt,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

type categoryIn struct {
	Name        *string `json:"name"`
	Slug        *string `json:"slug"`
	Description *string `json:"description"`
}

type articleIn struct {
	Title      *string `json:"title"`
	Slug       *string `json:"slug"`
	Body       *string `json:"body"`
	Status     *string `json:"status"`
	CategoryID *string `json:"category_id"`
}

func (in articleIn) input() library.ArticleInput {
	return library.ArticleInput{CategoryID: in.CategoryID, Title: in.Title, Slug: in.Slug, Body: in.Body, Status: in.Status}
}

func (s *Server) listCategories(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	res, err := s.Library.ListCategories(r.Context(), principalOf(r.Context()).scope(), p)
	if err != nil {
		return err
	}
	return list(w, res, categoryOut)
}

func (s *Server) createCategory(w http.ResponseWriter, r *http.Request) error {
	var in categoryIn
	if err := decode(r, &in, false); err != nil {
		return err
	}
	c, err := s.Library.CreateCategory(r.Context(), principalOf(r.Context()).scope(),
		library.CategoryInput{Name: in.Name, Slug: in.Slug, Description: in.Description})
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, categoryOut(c))
}

func (s *Server) getCategory(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Library.Category(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, categoryOut(c))
}

func (s *Server) updateCategory(w http.ResponseWriter, r *http.Request) error {
	var in categoryIn
	if err := decode(r, &in, false); err != nil {
		return err
	}
	c, err := s.Library.UpdateCategory(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"),
		library.CategoryInput{Name: in.Name, Slug: in.Slug, Description: in.Description})
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, categoryOut(c))
}

func (s *Server) deleteCategory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.Library.DeleteCategory(r.Context(), principalOf(r.Context()).scope(), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
}

// publishableOnly reports whether the caller may see published articles only.
func publishableOnly(ctx context.Context) bool {
	return principalOf(ctx).Key.Type == apikey.Publishable
}

func (s *Server) listArticles(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := library.ArticleFilter{CategoryID: q.Get("category_id"), Status: q.Get("status")}
	if publishableOnly(r.Context()) {
		if f.Status != "" && f.Status != "published" {
			return errPKScope
		}
		f.Status = "published"
	}
	res, err := s.Library.ListArticles(r.Context(), principalOf(r.Context()).scope(), f, p)
	if err != nil {
		return err
	}
	return list(w, res, articleOut)
}

func (s *Server) createArticle(w http.ResponseWriter, r *http.Request) error {
	var in articleIn
	if err := decode(r, &in, false); err != nil {
		return err
	}
	a, err := s.Library.CreateArticle(r.Context(), principalOf(r.Context()).scope(), in.input())
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, articleOut(a))
}

func (s *Server) getArticle(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Library.Article(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if publishableOnly(r.Context()) && a.Status != "published" {
		return errs.NotFoundf("Article not found")
	}
	return ok(w, http.StatusOK, articleOut(a))
}

func (s *Server) updateArticle(w http.ResponseWriter, r *http.Request) error {
	var in articleIn
	if err := decode(r, &in, false); err != nil {
		return err
	}
	a, err := s.Library.UpdateArticle(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"), in.input())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, articleOut(a))
}

func (s *Server) deleteArticle(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.Library.DeleteArticle(r.Context(), principalOf(r.Context()).scope(), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
}

// public wraps a Library handler: no key needed, 200 requests/hour per client
// IP, CORS for every origin. A valid key of the team switches to its mode,
// so that integrators can preview test-mode content with pk_test_….
func (s *Server) public(h func(w http.ResponseWriter, r *http.Request, sc scope.Scope) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		canonicalIDs(r)
		sw := &statusWriter{ResponseWriter: w}
		s.allowCORS(sw, r)
		var keyID string
		err := func() error {
			if err := checkText(r); err != nil {
				return err
			}
			if err := s.limit(r.Context(), sw, "library:"+s.clientKey(r), s.Limits.Library); err != nil {
				return err
			}
			t, err := s.Teams.Resolve(r.Context(), r.PathValue("team"))
			if err != nil {
				return err
			}
			sc := scope.Scope{TeamID: t.ID, Mode: scope.Live}
			if r.Header.Get("Authorization") != "" {
				// authenticate counts a bad key against the client IP's
				// invalid-key budget, as on /api/v1.
				k, err := s.authenticate(sw, r)
				if err != nil {
					return err
				}
				keyID = k.ID
				if k.Type == apikey.Secret {
					// Secret keys never get a CORS allowance, here too.
					sw.Header().Del("Access-Control-Allow-Origin")
				}
				if k.TeamID != t.ID {
					return errWrongTeam
				}
				if o := r.Header.Get("Origin"); k.Type == apikey.Publishable && o != "" && !t.AllowsOrigin(k.Mode, o) {
					sw.Header().Del("Access-Control-Allow-Origin")
					return errOrigin
				}
				sc.Mode = k.Mode
			}
			return h(sw, r, sc)
		}()
		if err != nil {
			renderError(sw, r, s.Log, err)
		}
		if keyID != "" {
			s.Auth.Record(keyID, sw.status >= 400, false)
		}
	})
}

func (s *Server) publicArticles(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	f := library.ArticleFilter{Status: "published"}
	if c := r.URL.Query().Get("category"); c != "" {
		cat, err := s.Library.CategoryBySlug(r.Context(), sc, c)
		if err != nil {
			if !errs.Is(err, errs.NotFound) {
				return err
			}
			cat, err = s.Library.Category(r.Context(), sc, c)
			if err != nil {
				return err
			}
		}
		f.CategoryID = cat.ID
	}
	res, err := s.Library.ListArticles(r.Context(), sc, f, p)
	if err != nil {
		return err
	}
	return list(w, res, articleOut)
}

func (s *Server) publicArticle(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
	a, err := s.Library.ArticleBySlug(r.Context(), sc, r.PathValue("slug"))
	if err != nil {
		return err
	}
	if a.Status != "published" {
		return errs.NotFoundf("Article not found")
	}
	return ok(w, http.StatusOK, articleOut(a))
}

func (s *Server) publicCategories(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	res, err := s.Library.ListCategories(r.Context(), sc, p)
	if err != nil {
		return err
	}
	return list(w, res, categoryOut)
}

type hitJSON struct {
	articleJSON
	Snippet string  `json:"snippet"`
	Score   float64 `json:"score"`
}

func (s *Server) publicSearch(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
	q := r.URL.Query()
	limit, err := limitParam(r, library.DefaultSearchLimit, library.MaxSearchLimit)
	if err != nil {
		return err
	}
	if strings.TrimSpace(q.Get("q")) == "" {
		return errs.Invalidf("q", "q is required")
	}
	hits, err := s.Library.Search(r.Context(), sc, q.Get("q"), limit)
	if err != nil {
		return err
	}
	out := make([]hitJSON, len(hits))
	for i, h := range hits {
		out[i] = hitJSON{articleOut(h.Article), h.Snippet, h.Rank}
	}
	return ok(w, http.StatusOK, out)
}
