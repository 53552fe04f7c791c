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

// Limits of a category's fields, in characters.
const (
	MaxCategoryName        = 200
	MaxCategoryDescription = 2000
)

// Category groups articles.
type Category struct {
	ID          string
	TeamID      string
	Mode        scope.Mode
	Name        string
	Slug        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CategoryInput creates or changes a category; nil fields are left as they
// are (or empty on create). A missing or empty Slug on create is generated
// from the name.
type CategoryInput struct {
	Name        *string
	Slug        *string
	Description *string
}

const categoryNotFound = "Category not found"

// apply validates in and copies it onto c, except the slug.
func (in CategoryInput) apply(c *Category) error {
	if in.Name != nil {
		name, err := text("name", strings.TrimSpace(*in.Name), true, MaxCategoryName)
		if err != nil {
			return err
		}
		c.Name = name
	}
	if in.Description != nil {
		d, err := text("description", strings.TrimSpace(*in.Description), false, MaxCategoryDescription)
		if err != nil {
			return err
		}
		c.Description = d
	}
	return nil
}

// CreateCategory adds a category to sc.
func (s *Service) CreateCategory(ctx context.Context, sc scope.Scope, in CategoryInput) (Category, error) {
	if in.Name == nil {
		return Category{}, errs.Invalidf("name", "name is required")
	}
	c := Category{TeamID: sc.TeamID, Mode: sc.Mode}
	if err := in.apply(&c); err != nil {
		return Category{}, err
	}
	id, err := ids.New()
	if err != nil {
		return Category{}, err
	}
	c.ID = id
	c.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	c.UpdatedAt = c.CreatedAt
	taken := func(ctx context.Context, base string) ([]string, error) { return s.store.CategorySlugs(ctx, sc, base) }
	_, err = insertWithSlug(ctx, in.Slug, c.Name, "category", taken, func(slug string) error {
		c.Slug = slug
		return s.store.InsertCategory(ctx, c)
	})
	if err != nil {
		return Category{}, wrap(err, "create category")
	}
	return c, nil
}

// Category returns the category of sc with the given id.
func (s *Service) Category(ctx context.Context, sc scope.Scope, id string) (Category, error) {
	id, ok := ids.Canonical(id)
	if !ok {
		return Category{}, errs.NotFoundf(categoryNotFound)
	}
	c, err := s.store.CategoryByID(ctx, sc, id)
	if err != nil {
		return Category{}, fail(err, "get category", categoryNotFound)
	}
	return c, nil
}

// CategoryBySlug returns the category of sc with the given slug.
func (s *Service) CategoryBySlug(ctx context.Context, sc scope.Scope, slug string) (Category, error) {
	if !ValidSlug(slug) {
		return Category{}, errs.NotFoundf(categoryNotFound)
	}
	c, err := s.store.CategoryBySlug(ctx, sc, slug)
	if err != nil {
		return Category{}, fail(err, "get category by slug", categoryNotFound)
	}
	return c, nil
}

// UpdateCategory changes the fields of in that are not nil. The slug only
// changes when one is given, so links keep working after a rename.
func (s *Service) UpdateCategory(ctx context.Context, sc scope.Scope, id string, in CategoryInput) (Category, error) {
	if in.Slug != nil {
		if err := checkSlug(*in.Slug); err != nil {
			return Category{}, err
		}
	}
	if err := in.apply(&Category{}); err != nil {
		return Category{}, err
	}
	c, err := s.Category(ctx, sc, id)
	if err != nil {
		return Category{}, err
	}
	in.apply(&c)
	if in.Slug != nil {
		c.Slug = *in.Slug
	}
	c.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := s.store.UpdateCategory(ctx, c); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			return Category{}, errs.Conflictf("slug %q is already in use", c.Slug)
		}
		return Category{}, fail(err, "update category", categoryNotFound)
	}
	return c, nil
}

// DeleteCategory removes a category of sc; its articles stay, without a
// category.
func (s *Service) DeleteCategory(ctx context.Context, sc scope.Scope, id string) error {
	id, ok := ids.Canonical(id)
	if !ok {
		return errs.NotFoundf(categoryNotFound)
	}
	if err := s.store.DeleteCategory(ctx, sc, id); err != nil {
		return fail(err, "delete category", categoryNotFound)
	}
	return nil
}

// ListCategories returns one page of the categories of sc, newest first.
func (s *Service) ListCategories(ctx context.Context, sc scope.Scope, p page.Params) (page.Page[Category], error) {
	p, err := page.Normalize(p)
	if err != nil {
		return page.Page[Category]{}, err
	}
	items, err := s.store.ListCategories(ctx, sc, p.After, p.Limit+1)
	if err != nil {
		return page.Page[Category]{}, fmt.Errorf("library: list categories: %w", err)
	}
	return page.Build(p, items, func(c Category) string { return c.ID }), nil
}
