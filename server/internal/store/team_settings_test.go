package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestTeamSettingsMigration: a team that had allowed origins and user
// hashes switched off before settings became per mode keeps both, in both
// modes, after migration 0008.
func TestTeamSettingsMigration(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.MigrateTo(ctx, "0007_identity_hardening.sql"); err != nil {
			t.Fatalf("migrate to 0007: %v", err)
		}
		const id = "01a2206a-e1c7-7cbd-b02c-8b6cb78361c8"
		now := time.Now().UTC()
		if _, err := db.Bun().ExecContext(ctx, `INSERT INTO teams (id, slug, name, allowed_origins, user_hash_enabled, created_at, updated_at)
			VALUES (?, 'acme', 'Acme', ?, ?, ?, ?)`, id, `["https://shop.example"]`, false, now, now); err != nil {
			t.Fatalf("insert an old team: %v", err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		tm, err := db.TeamByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []scope.Mode{scope.Live, scope.Test} {
			if got := tm.Settings[m].AllowedOrigins; !slices.Equal(got, []string{"https://shop.example"}) {
				t.Errorf("%s allowed origins: got %v, want the old list", m, got)
			}
			if on, err := db.UserHashEnabled(ctx, scope.Scope{TeamID: id, Mode: m}); err != nil || on {
				t.Errorf("%s user hash: got %v, %v; want false as before", m, on, err)
			}
		}
	})
}
