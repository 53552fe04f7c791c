package library

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Limits of a search.
const (
	DefaultSearchLimit = 10
	MaxSearchLimit     = 50
	MaxQueryLen        = 200
)

// Hit is one search result.
type Hit struct {
	Article Article
	// Snippet is a short plain-text excerpt of the body around the match
	// (Markdown as written, not HTML).
	Snippet string
	// Rank orders hits: higher is better. Its scale depends on the database.
	Rank float64
}

// Search finds the published articles of sc that contain every word of q
// (stemmed, in title or body), best first, titles weighing more than
// bodies. A limit outside 1-50 means the default of 10 or the maximum.
// No input can make the query fail: on SQLite every word is quoted, so it is
// only ever a word; PostgreSQL's websearch_to_tsquery reads "phrases", or
// and -word as web-search syntax and accepts anything else.
func (s *Service) Search(ctx context.Context, sc scope.Scope, q string, limit int) ([]Hit, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, errs.Invalidf("q", "q is required")
	}
	if !utf8.ValidString(q) || strings.ContainsRune(q, 0) {
		return nil, errs.Invalidf("q", "q must be valid UTF-8 text")
	}
	if utf8.RuneCountInString(q) > MaxQueryLen {
		return nil, errs.Invalidf("q", "q must be at most %d characters", MaxQueryLen)
	}
	switch {
	case limit <= 0:
		limit = DefaultSearchLimit
	case limit > MaxSearchLimit:
		limit = MaxSearchLimit
	}
	hits, err := s.store.SearchArticles(ctx, sc, q, limit)
	if err != nil {
		return nil, fmt.Errorf("library: search: %w", err)
	}
	if hits == nil {
		hits = []Hit{}
	}
	return hits, nil
}
