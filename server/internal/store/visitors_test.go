package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestCustomerKindMigration: migration 0012 classes the customers it finds
// as well as their rows tell: a password makes an account, signed in
// without one an identified customer, otherwise a contact of the API.
func TestCustomerKindMigration(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.MigrateTo(ctx, "0008_team_settings.sql"); err != nil {
			t.Fatalf("migrate to 0008: %v", err)
		}
		const team = "01a2206a-e1c7-7cbd-b02c-8b6cb78361c8"
		ids := map[string]string{
			"account":    "01a2206a-e1c7-7cbd-b02c-8b6cb78361d1",
			"identified": "01a2206a-e1c7-7cbd-b02c-8b6cb78361d2",
			"contact":    "01a2206a-e1c7-7cbd-b02c-8b6cb78361d3",
		}
		now := time.Now().UTC()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Bun().ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO teams (id, slug, name, created_at, updated_at) VALUES (?, 'acme', 'Acme', ?, ?)`, team, now, now)
		exec(`INSERT INTO customers (id, team_id, mode, email, name, password_hash, created_at, updated_at)
			VALUES (?, ?, 'live', 'ann@example.com', 'Ann', 'hash', ?, ?)`, ids["account"], team, now, now)
		exec(`INSERT INTO customers (id, team_id, mode, external_id, name, created_at, updated_at)
			VALUES (?, ?, 'live', 'user-1', 'Bo', ?, ?)`, ids["identified"], team, now, now)
		exec(`INSERT INTO customers (id, team_id, mode, external_id, name, created_at, updated_at)
			VALUES (?, ?, 'live', 'crm-1', 'Cy', ?, ?)`, ids["contact"], team, now, now)
		exec(`INSERT INTO customer_sessions (id, team_id, mode, customer_id, token_hash, created_at, last_used_at, expires_at, absolute_expires_at)
			VALUES ('01a2206a-e1c7-7cbd-b02c-8b6cb78361e1', ?, 'live', ?, ?, ?, ?, ?, ?)`, team, ids["identified"], []byte{1, 2, 3}, now, now, now, now)
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		for want, id := range ids {
			c, err := db.CustomerByID(ctx, scope.Scope{TeamID: team, Mode: scope.Live}, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.Kind != want {
				t.Errorf("customer %s: got kind %q, want %q", id, c.Kind, want)
			}
		}
	})
}
