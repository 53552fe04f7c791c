package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// open is a fresh store whose second migration must be a no-op.
func open(t *testing.T, url string) *store.DB {
	t.Helper()
	db := storetest.Open(t, url)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("second migrate must be a no-op, got %v", err)
	}
	return db
}

func TestTeamsAndKeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := open(t, url)
		now := time.Date(2026, 11, 28, 10, 0, 0, 123456000, time.UTC)
		teams := team.NewService(db, func() time.Time { return now })
		c, err := teams.Create(ctx, "Acme Inc", "acme")
		if err != nil {
			t.Fatalf("create team: %v", err)
		}
		if _, err := teams.Create(ctx, "Other", "acme"); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("duplicate slug: got %v, want conflict", err)
		}
		for _, ref := range []string{c.ID, "acme"} {
			got, err := teams.Resolve(ctx, ref)
			if err != nil || got.ID != c.ID || got.Name != "Acme Inc" || !got.CreatedAt.Equal(now) {
				t.Fatalf("resolve %q: got %+v, %v", ref, got, err)
			}
		}
		if _, err := teams.Resolve(ctx, "nope"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("resolve unknown: got %v, want not_found", err)
		}

		keys := apikey.NewService(db, func() time.Time { return now })
		sk := c.Keys["sk_test"]
		k, err := keys.Authenticate(ctx, sk.Secret)
		if err != nil || k.ID != sk.ID || k.Mode != scope.Test || k.Type != apikey.Secret {
			t.Fatalf("authenticate: got %+v, %v", k, err)
		}
		list, err := keys.List(ctx, k.Scope())
		if err != nil || len(list) != 2 {
			t.Fatalf("list test keys: got %d keys, %v; want 2", len(list), err)
		}
		keys.Record(k.ID, false, false)
		keys.Record(k.ID, true, true)
		u, err := keys.Usage(ctx, k.Scope(), k.ID)
		if err != nil {
			t.Fatalf("usage: %v", err)
		}
		last := u.Hours[len(u.Hours)-1]
		if len(u.Hours) != 24 || last.Requests != 2 || last.Errors != 1 || last.RateLimited != 1 {
			t.Fatalf("usage: got %d hours, last %+v", len(u.Hours), last)
		}
		if u.LastUsedAt == nil || !u.LastUsedAt.Equal(now) {
			t.Fatalf("last_used_at: got %v, want %v", u.LastUsedAt, now)
		}
	})
}
