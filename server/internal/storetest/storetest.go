package storetest

import (
	"context"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// Each runs f as a subtest on a fresh, migrated SQLite store and on a
// fresh, migrated PostgreSQL store (skipped, or failed under
// CSTAR_REQUIRE_POSTGRES=1, when no PostgreSQL is configured).
func Each(t *testing.T, f func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) { f(t, New(t, d)) })
	}
}

// New returns a fresh, migrated store of dialect ("sqlite" or "postgres")
// that is closed when the test ends.
func New(t testing.TB, dialect string) *store.DB {
	t.Helper()
	return Open(t, testdb.URL(t, dialect))
}

// Open opens and migrates the database at url, closing it when the test
// ends.
func Open(t testing.TB, url string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}
