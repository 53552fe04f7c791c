package store

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/library"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

type categoryRow struct {
	bun.BaseModel `bun:"table:categories"`

	ID          string    `bun:"id,pk"`
	TeamID      string    `bun:"team_id"`
	Mode        string    `bun:"mode"`
	Name        string    `bun:"name"`
	Slug        string    `bun:"slug"`
	Description string    `bun:"description"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`
}

func (r categoryRow) category() library.Category {
	return library.Category{ID: r.ID, TeamID: r.TeamID, Mode: scope.Mode(r.Mode), Name: r.Name, Slug: r.Slug,
		Description: r.Description, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func categoryToRow(c library.Category) *categoryRow {
	return &categoryRow{ID: c.ID, TeamID: c.TeamID, Mode: string(c.Mode), Name: c.Name, Slug: c.Slug,
		Description: c.Description, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

// articleRow leaves out PostgreSQL's generated search column, which is
// never read or written directly.
type articleRow struct {
	bun.BaseModel `bun:"table:articles,alias:a"`

	ID          string     `bun:"id,pk"`
	TeamID      string     `bun:"team_id"`
	Mode        string     `bun:"mode"`
	CategoryID  string     `bun:"category_id,nullzero"`
	Title       string     `bun:"title"`
	Slug        string     `bun:"slug"`
	Body        string     `bun:"body"`
	Status      string     `bun:"status"`
	PublishedAt *time.Time `bun:"published_at"`
	CreatedAt   time.Time  `bun:"created_at"`
	UpdatedAt   time.Time  `bun:"updated_at"`
}

const articleColumns = `a.id, a.team_id, a.mode, a.category_id, a.title, a.slug, a.body, a.status,
	a.published_at, a.created_at, a.updated_at`

func (r articleRow) article() library.Article {
	return library.Article{ID: r.ID, TeamID: r.TeamID, Mode: scope.Mode(r.Mode), CategoryID: r.CategoryID,
		Title: r.Title, Slug: r.Slug, Body: r.Body, Status: r.Status, PublishedAt: utcPtr(r.PublishedAt),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func articleToRow(a library.Article) *articleRow {
	return &articleRow{ID: a.ID, TeamID: a.TeamID, Mode: string(a.Mode), CategoryID: a.CategoryID,
		Title: a.Title, Slug: a.Slug, Body: a.Body, Status: a.Status, PublishedAt: utcPtr(a.PublishedAt),
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
}

// InsertCategory stores a new category.
func (db *DB) InsertCategory(ctx context.Context, c library.Category) error {
	if _, err := db.bun.NewInsert().Model(categoryToRow(c)).Exec(ctx); err != nil {
		return fmt.Errorf("store: insert category: %w", mapErr(err))
	}
	return nil
}

// CategoryByID returns a category of sc.
func (db *DB) CategoryByID(ctx context.Context, sc scope.Scope, id string) (library.Category, error) {
	var r categoryRow
	err := db.bun.NewSelect().Model(&r).Where("id = ? AND team_id = ? AND mode = ?", id, sc.TeamID, sc.Mode).Scan(ctx)
	if err != nil {
		return library.Category{}, fmt.Errorf("store: category by id: %w", mapErr(err))
	}
	return r.category(), nil
}

// CategoryBySlug returns the category of sc with the given slug.
func (db *DB) CategoryBySlug(ctx context.Context, sc scope.Scope, slug string) (library.Category, error) {
	var r categoryRow
	err := db.bun.NewSelect().Model(&r).Where("slug = ? AND team_id = ? AND mode = ?", slug, sc.TeamID, sc.Mode).Scan(ctx)
	if err != nil {
		return library.Category{}, fmt.Errorf("store: category by slug: %w", mapErr(err))
	}
	return r.category(), nil
}

// UpdateCategory writes a category's name, slug and description.
func (db *DB) UpdateCategory(ctx context.Context, c library.Category) error {
	res, err := db.bun.NewUpdate().Model(categoryToRow(c)).Column("name", "slug", "description", "updated_at").
		Where("id = ? AND team_id = ? AND mode = ?", c.ID, c.TeamID, c.Mode).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: update category: %w", mapErr(err))
	}
	return mustAffect(res, "update category")
}

// DeleteCategory removes a category of sc; the foreign key leaves its
// articles without a category.
func (db *DB) DeleteCategory(ctx context.Context, sc scope.Scope, id string) error {
	res, err := db.bun.NewDelete().Table("categories").
		Where("id = ? AND team_id = ? AND mode = ?", id, sc.TeamID, sc.Mode).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: delete category: %w", mapErr(err))
	}
	return mustAffect(res, "delete category")
}

// ListCategories returns up to limit categories of sc older than after,
// newest first.
func (db *DB) ListCategories(ctx context.Context, sc scope.Scope, after string, limit int) ([]library.Category, error) {
	var rows []categoryRow
	q := db.bun.NewSelect().Model(&rows).Where("team_id = ? AND mode = ?", sc.TeamID, sc.Mode)
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if err := q.Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list categories: %w", mapErr(err))
	}
	out := make([]library.Category, len(rows))
	for i, r := range rows {
		out[i] = r.category()
	}
	return out, nil
}

// CategorySlugs returns the slugs of sc that are base or base-….
func (db *DB) CategorySlugs(ctx context.Context, sc scope.Scope, base string) ([]string, error) {
	return db.slugs(ctx, "categories", sc, base)
}

// slugs serves CategorySlugs and ArticleSlugs. Slugs hold no LIKE
// wildcards, so base can go into the pattern as it is.
func (db *DB) slugs(ctx context.Context, table string, sc scope.Scope, base string) ([]string, error) {
	var out []string
	err := db.bun.NewSelect().Table(table).Column("slug").
		Where("team_id = ? AND mode = ? AND (slug = ? OR slug LIKE ?)", sc.TeamID, sc.Mode, base, base+"-%").
		Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("store: %s slugs: %w", table, mapErr(err))
	}
	return out, nil
}

// InsertArticle stores a new article.
func (db *DB) InsertArticle(ctx context.Context, a library.Article) error {
	if _, err := db.bun.NewInsert().Model(articleToRow(a)).Exec(ctx); err != nil {
		return fmt.Errorf("store: insert article: %w", mapErr(err))
	}
	return nil
}

// ArticleByID returns an article of sc.
func (db *DB) ArticleByID(ctx context.Context, sc scope.Scope, id string) (library.Article, error) {
	var r articleRow
	err := db.bun.NewSelect().Model(&r).Where("a.id = ? AND a.team_id = ? AND a.mode = ?", id, sc.TeamID, sc.Mode).Scan(ctx)
	if err != nil {
		return library.Article{}, fmt.Errorf("store: article by id: %w", mapErr(err))
	}
	return r.article(), nil
}

// ArticleBySlug returns the article of sc with the given slug.
func (db *DB) ArticleBySlug(ctx context.Context, sc scope.Scope, slug string) (library.Article, error) {
	var r articleRow
	err := db.bun.NewSelect().Model(&r).Where("a.slug = ? AND a.team_id = ? AND a.mode = ?", slug, sc.TeamID, sc.Mode).Scan(ctx)
	if err != nil {
		return library.Article{}, fmt.Errorf("store: article by slug: %w", mapErr(err))
	}
	return r.article(), nil
}

// UpdateArticle writes everything of an article but its id, scope and
// creation time.
func (db *DB) UpdateArticle(ctx context.Context, a library.Article) error {
	res, err := db.bun.NewUpdate().Model(articleToRow(a)).
		Column("category_id", "title", "slug", "body", "status", "published_at", "updated_at").
		Where("a.id = ? AND a.team_id = ? AND a.mode = ?", a.ID, a.TeamID, a.Mode).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: update article: %w", mapErr(err))
	}
	return mustAffect(res, "update article")
}

// DeleteArticle removes an article of sc.
func (db *DB) DeleteArticle(ctx context.Context, sc scope.Scope, id string) error {
	res, err := db.bun.NewDelete().Table("articles").
		Where("id = ? AND team_id = ? AND mode = ?", id, sc.TeamID, sc.Mode).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: delete article: %w", mapErr(err))
	}
	return mustAffect(res, "delete article")
}

// ListArticles returns up to limit articles of sc matching f and older than
// after, newest first.
func (db *DB) ListArticles(ctx context.Context, sc scope.Scope, f library.ArticleFilter, after string, limit int) ([]library.Article, error) {
	var rows []articleRow
	q := db.bun.NewSelect().Model(&rows).Where("a.team_id = ? AND a.mode = ?", sc.TeamID, sc.Mode)
	if f.CategoryID != "" {
		q = q.Where("a.category_id = ?", f.CategoryID)
	}
	if f.Status != "" {
		q = q.Where("a.status = ?", f.Status)
	}
	if after != "" {
		q = q.Where("a.id < ?", after)
	}
	if err := q.Order("a.id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list articles: %w", mapErr(err))
	}
	out := make([]library.Article, len(rows))
	for i, r := range rows {
		out[i] = r.article()
	}
	return out, nil
}

// ArticleSlugs returns the slugs of sc that are base or base-….
func (db *DB) ArticleSlugs(ctx context.Context, sc scope.Scope, base string) ([]string, error) {
	return db.slugs(ctx, "articles", sc, base)
}

type hitRow struct {
	articleRow
	Score   float64 `bun:"score"`
	Snippet string  `bun:"snippet"`
}

// SearchArticles runs a full-text search over the published articles of sc.
// PostgreSQL matches the generated search column (title weighted A, body B)
// with websearch_to_tsquery, which never fails on odd input; SQLite matches
// the FTS5 index with a query built by ftsQuery, bm25 weighing the title ten
// times the body. Both rank higher scores first.
func (db *DB) SearchArticles(ctx context.Context, sc scope.Scope, q string, limit int) ([]library.Hit, error) {
	var rows []hitRow
	var err error
	switch db.dialect {
	case Postgres:
		err = db.bun.NewRaw(`SELECT `+articleColumns+`, ts_rank(a.search, q) AS score,
			ts_headline('english', a.body, q, 'MaxFragments=1, MaxWords=20, MinWords=5, StartSel="", StopSel=""') AS snippet
			FROM articles a, websearch_to_tsquery('english', ?) q
			WHERE a.team_id = ? AND a.mode = ? AND a.status = ? AND a.search @@ q
			ORDER BY score DESC, a.id DESC LIMIT ?`,
			q, sc.TeamID, sc.Mode, library.Published, limit).Scan(ctx, &rows)
	default:
		match := ftsQuery(q)
		if match == "" {
			return nil, nil
		}
		// The alias is score, not rank, because rank is a hidden column of
		// every FTS5 table.
		err = db.bun.NewRaw(`SELECT `+articleColumns+`, -bm25(articles_fts, 10.0, 1.0) AS score,
			snippet(articles_fts, 1, '', '', '…', 16) AS snippet
			FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid
			WHERE articles_fts MATCH ? AND a.team_id = ? AND a.mode = ? AND a.status = ?
			ORDER BY score DESC, a.id DESC LIMIT ?`,
			match, sc.TeamID, sc.Mode, library.Published, limit).Scan(ctx, &rows)
	}
	if err != nil {
		return nil, fmt.Errorf("store: search articles: %w", mapErr(err))
	}
	out := make([]library.Hit, len(rows))
	for i, r := range rows {
		out[i] = library.Hit{Article: r.article(), Snippet: r.Snippet, Rank: r.Score}
	}
	return out, nil
}

// ftsQuery turns what a visitor typed into an FTS5 query that cannot be
// anything but words: each run of letters and digits (what the unicode61
// tokenizer keeps) becomes a quoted string, and the strings are ANDed.
// Common English words are left out, as PostgreSQL's english configuration
// does, so that "how do I reset my password" finds "Resetting passwords".
// It returns "" when no word is left.
func ftsQuery(q string) string {
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	var terms []string
	for _, w := range words {
		if stopWords[strings.ToLower(w)] {
			continue
		}
		terms = append(terms, `"`+w+`"`)
	}
	return strings.Join(terms, " ")
}

// stopWords is PostgreSQL's English stop-word list (Snowball's).
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`i me my myself we our ours ourselves you your yours yourself yourselves
		he him his himself she her hers herself it its itself they them their theirs themselves what which who
		whom this that these those am is are was were be been being have has had having do does did doing a an
		the and but if or because as until while of at by for with about against between into through during
		before after above below to from up down in out on off over under again further then once here there
		when where why how all any both each few more most other some such no nor not only own same so than too
		very s t can will just don should now`) {
		m[w] = true
	}
	return m
}()
