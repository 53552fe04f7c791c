package library

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Store is what the library needs from persistence. Every method stays
// inside the scope it is given (or the scope of the row it writes); missing
// rows are reported with errs.ErrNotFound, unique violations with
// errs.ErrConflict. List methods return up to limit rows with id < after
// (when after is not empty), newest first.
type Store interface {
	InsertCategory(ctx context.Context, c Category) error
	CategoryByID(ctx context.Context, sc scope.Scope, id string) (Category, error)
	CategoryBySlug(ctx context.Context, sc scope.Scope, slug string) (Category, error)
	UpdateCategory(ctx context.Context, c Category) error
	DeleteCategory(ctx context.Context, sc scope.Scope, id string) error
	ListCategories(ctx context.Context, sc scope.Scope, after string, limit int) ([]Category, error)
	// CategorySlugs returns the slugs of sc equal to base or starting with
	// base followed by a dash.
	CategorySlugs(ctx context.Context, sc scope.Scope, base string) ([]string, error)

	InsertArticle(ctx context.Context, a Article) error
	ArticleByID(ctx context.Context, sc scope.Scope, id string) (Article, error)
	ArticleBySlug(ctx context.Context, sc scope.Scope, slug string) (Article, error)
	UpdateArticle(ctx context.Context, a Article) error
	DeleteArticle(ctx context.Context, sc scope.Scope, id string) error
	ListArticles(ctx context.Context, sc scope.Scope, f ArticleFilter, after string, limit int) ([]Article, error)
	// ArticleSlugs is CategorySlugs for articles.
	ArticleSlugs(ctx context.Context, sc scope.Scope, base string) ([]string, error)
	// SearchArticles returns the published articles of sc matching q, best
	// first, at most limit.
	SearchArticles(ctx context.Context, sc scope.Scope, q string, limit int) ([]Hit, error)
}

// Service manages a team's categories and articles.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a library service.
func NewService(st Store, now func() time.Time) *Service {
	return &Service{store: st, now: now}
}

// text checks a free-text field: valid UTF-8 without NUL bytes (PostgreSQL
// rejects both), at most max characters, and at least one when required.
func text(field, s string, required bool, max int) (string, error) {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", errs.Invalidf(field, "%s must be valid UTF-8 text", field)
	}
	n := utf8.RuneCountInString(s)
	switch {
	case required && n == 0:
		return "", errs.Invalidf(field, "%s is required", field)
	case n > max:
		return "", errs.Invalidf(field, "%s must be at most %d characters", field, max)
	}
	return s, nil
}

// fail turns a store error into what the caller should see: errs.ErrNotFound
// becomes notFound, everything else is wrapped with op.
func fail(err error, op, notFound string) error {
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFoundf("%s", notFound)
	}
	return fmt.Errorf("library: %s: %w", op, err)
}

// wrap adds op to an unexpected error and passes errs.Error values through
// untouched, since their messages are meant for the client.
func wrap(err error, op string) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("library: %s: %w", op, err)
}

// insertWithSlug stores a new row under the slug given, or under one
// generated from title when none is. A given slug that is taken is a
// conflict; a generated one moves on to the next free -2, -3, … suffix.
func insertWithSlug(ctx context.Context, given *string, title, fallback string,
	taken func(ctx context.Context, base string) ([]string, error), insert func(slug string) error) (string, error) {
	if given != nil && *given != "" {
		if err := checkSlug(*given); err != nil {
			return "", err
		}
		if err := insert(*given); err != nil {
			if errors.Is(err, errs.ErrConflict) {
				return "", errs.Conflictf("slug %q is already in use", *given)
			}
			return "", err
		}
		return *given, nil
	}
	base := Slugify(title, fallback)
	// Another request may take the slug between the look-up and the insert;
	// then look again.
	for range 5 {
		existing, err := taken(ctx, base)
		if err != nil {
			return "", err
		}
		slug := nextFreeSlug(base, existing)
		err = insert(slug)
		if err == nil {
			return slug, nil
		}
		if !errors.Is(err, errs.ErrConflict) {
			return "", err
		}
	}
	return "", errs.Conflictf("could not find a free slug for %q, please retry", base)
}
