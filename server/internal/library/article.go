package library

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Limits of an article's fields: the title in characters, the body in bytes.
const (
	MaxArticleTitle = 300
	MaxArticleBody  = 200 << 10
)

// The states of an article. Only published articles are searchable.
const (
	Draft     = "draft"
	Published = "published"
)

// Article is a help-center page written in Markdown.
type Article struct {
	ID     string
	TeamID string
	Mode   scope.Mode
	// CategoryID is empty when the article has no category.
	CategoryID string
	Title      string
	Slug       string
	Body       string
	Status     string
	// PublishedAt is when the article was first published; it stays set if
	// the article goes back to draft.
	PublishedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ArticleInput creates or changes an article; nil fields are left as they
// are (or defaults on create). An empty CategoryID removes the category. A
// missing or empty Slug on create is generated from the title.
type ArticleInput struct {
	CategoryID *string
	Title      *string
	Slug       *string
	Body       *string
	Status     *string
}

// ArticleFilter narrows a list of articles; empty fields match everything.
type ArticleFilter struct {
	CategoryID string
	Status     string
}

const articleNotFound = "Article not found"

// apply validates in and copies it onto a, except the slug and category;
// it returns the category id to check, normalized, if one was given.
func (in ArticleInput) apply(a *Article, now time.Time) (categoryID *string, err error) {
	if in.Title != nil {
		t, err := text("title", strings.TrimSpace(*in.Title), true, MaxArticleTitle)
		if err != nil {
			return nil, err
		}
		a.Title = t
	}
	if in.Body != nil {
		if len(*in.Body) > MaxArticleBody {
			return nil, errs.Invalidf("body", "body must be at most %d KB", MaxArticleBody>>10)
		}
		b, err := text("body", *in.Body, false, MaxArticleBody)
		if err != nil {
			return nil, err
		}
		a.Body = b
	}
	if in.Status != nil {
		if *in.Status != Draft && *in.Status != Published {
			return nil, errs.Invalidf("status", "status must be %q or %q", Draft, Published)
		}
		a.Status = *in.Status
	}
	if a.Status == Published && a.PublishedAt == nil {
		a.PublishedAt = &now
	}
	if in.CategoryID != nil {
		id := ""
		if *in.CategoryID != "" {
			var ok bool
			if id, ok = ids.Canonical(*in.CategoryID); !ok {
				return nil, errNoCategory()
			}
		}
		categoryID = &id
	}
	return categoryID, nil
}

func errNoCategory() error {
	return errs.Invalidf("category_id", "category_id does not name a category")
}

// setCategory checks that id names a category of sc before pointing a at it.
func (s *Service) setCategory(ctx context.Context, sc scope.Scope, a *Article, id *string) error {
	if id == nil {
		return nil
	}
	if *id != "" && *id != a.CategoryID {
		if _, err := s.store.CategoryByID(ctx, sc, *id); err != nil {
			if errors.Is(err, errs.ErrNotFound) {
				return errNoCategory()
			}
			return fmt.Errorf("library: check category: %w", err)
		}
	}
	a.CategoryID = *id
	return nil
}

// CreateArticle adds an article to sc, as a draft unless Status says
// otherwise.
func (s *Service) CreateArticle(ctx context.Context, sc scope.Scope, in ArticleInput) (Article, error) {
	if in.Title == nil {
		return Article{}, errs.Invalidf("title", "title is required")
	}
	if in.Slug != nil && *in.Slug != "" {
		if err := checkSlug(*in.Slug); err != nil {
			return Article{}, err
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	a := Article{TeamID: sc.TeamID, Mode: sc.Mode, Status: Draft, CreatedAt: now, UpdatedAt: now}
	catID, err := in.apply(&a, now)
	if err != nil {
		return Article{}, err
	}
	if err := s.setCategory(ctx, sc, &a, catID); err != nil {
		return Article{}, err
	}
	if a.ID, err = ids.New(); err != nil {
		return Article{}, err
	}
	taken := func(ctx context.Context, base string) ([]string, error) { return s.store.ArticleSlugs(ctx, sc, base) }
	_, err = insertWithSlug(ctx, in.Slug, a.Title, "article", taken, func(slug string) error {
		a.Slug = slug
		return s.store.InsertArticle(ctx, a)
	})
	if err != nil {
		return Article{}, wrap(err, "create article")
	}
	return a, nil
}

// Article returns the article of sc with the given id, whatever its status.
func (s *Service) Article(ctx context.Context, sc scope.Scope, id string) (Article, error) {
	id, ok := ids.Canonical(id)
	if !ok {
		return Article{}, errs.NotFoundf(articleNotFound)
	}
	a, err := s.store.ArticleByID(ctx, sc, id)
	if err != nil {
		return Article{}, fail(err, "get article", articleNotFound)
	}
	return a, nil
}

// ArticleBySlug returns the article of sc with the given slug, whatever its
// status.
func (s *Service) ArticleBySlug(ctx context.Context, sc scope.Scope, slug string) (Article, error) {
	if !ValidSlug(slug) {
		return Article{}, errs.NotFoundf(articleNotFound)
	}
	a, err := s.store.ArticleBySlug(ctx, sc, slug)
	if err != nil {
		return Article{}, fail(err, "get article by slug", articleNotFound)
	}
	return a, nil
}

// UpdateArticle changes the fields of in that are not nil. The slug only
// changes when one is given, so links keep working after a retitle.
func (s *Service) UpdateArticle(ctx context.Context, sc scope.Scope, id string, in ArticleInput) (Article, error) {
	if in.Slug != nil {
		if err := checkSlug(*in.Slug); err != nil {
			return Article{}, err
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if _, err := in.apply(&Article{}, now); err != nil {
		return Article{}, err
	}
	a, err := s.Article(ctx, sc, id)
	if err != nil {
		return Article{}, err
	}
	catID, _ := in.apply(&a, now)
	if err := s.setCategory(ctx, sc, &a, catID); err != nil {
		return Article{}, err
	}
	if in.Slug != nil {
		a.Slug = *in.Slug
	}
	a.UpdatedAt = now
	if err := s.store.UpdateArticle(ctx, a); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			return Article{}, errs.Conflictf("slug %q is already in use", a.Slug)
		}
		return Article{}, fail(err, "update article", articleNotFound)
	}
	return a, nil
}

// DeleteArticle removes an article of sc.
func (s *Service) DeleteArticle(ctx context.Context, sc scope.Scope, id string) error {
	id, ok := ids.Canonical(id)
	if !ok {
		return errs.NotFoundf(articleNotFound)
	}
	if err := s.store.DeleteArticle(ctx, sc, id); err != nil {
		return fail(err, "delete article", articleNotFound)
	}
	return nil
}

// ListArticles returns one page of the articles of sc that match f, newest
// first.
func (s *Service) ListArticles(ctx context.Context, sc scope.Scope, f ArticleFilter, p page.Params) (page.Page[Article], error) {
	p, err := page.Normalize(p)
	if err != nil {
		return page.Page[Article]{}, err
	}
	if f.Status != "" && f.Status != Draft && f.Status != Published {
		return page.Page[Article]{}, errs.Invalidf("status", "status must be %q or %q", Draft, Published)
	}
	if f.CategoryID != "" {
		id, ok := ids.Canonical(f.CategoryID)
		if !ok {
			// Not a category id, so no article is in it.
			return page.Build(p, []Article(nil), func(a Article) string { return a.ID }), nil
		}
		f.CategoryID = id
	}
	items, err := s.store.ListArticles(ctx, sc, f, p.After, p.Limit+1)
	if err != nil {
		return page.Page[Article]{}, fmt.Errorf("library: list articles: %w", err)
	}
	return page.Build(p, items, func(a Article) string { return a.ID }), nil
}
