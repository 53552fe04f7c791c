package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

func TestIdentitySecretRows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := open(t, url)
		now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
		tm, err := team.NewService(db, func() time.Time { return now }).Create(ctx, "Acme", "acme")
		if err != nil {
			t.Fatalf("create team: %v", err)
		}
		live := scope.Scope{TeamID: tm.ID, Mode: scope.Live}
		test := scope.Scope{TeamID: tm.ID, Mode: scope.Test}

		sec, err := db.IdentitySecret(ctx, live)
		if err != nil || sec.Current != tm.IdentitySecrets[scope.Live] || sec.Previous != "" || !sec.CreatedAt.Equal(now) {
			t.Fatalf("live secret: got %+v, %v; want %q created at %v", sec, err, tm.IdentitySecrets[scope.Live], now)
		}

		// A roll with grace keeps the old secret as the previous one.
		later := now.Add(time.Minute)
		exp := later.Add(time.Hour)
		if err := db.RollIdentitySecret(ctx, live, "isec_next", &exp, later); err != nil {
			t.Fatalf("roll: %v", err)
		}
		got, err := db.IdentitySecret(ctx, live)
		if err != nil || got.Current != "isec_next" || got.Previous != sec.Current || got.PreviousExpiresAt == nil ||
			!got.PreviousExpiresAt.Equal(exp) || got.RolledAt == nil || !got.RolledAt.Equal(later) {
			t.Fatalf("after roll with grace: got %+v, %v", got, err)
		}
		// Without grace none remains.
		if err := db.RollIdentitySecret(ctx, live, "isec_third", nil, later); err != nil {
			t.Fatalf("roll: %v", err)
		}
		if got, err := db.IdentitySecret(ctx, live); err != nil || got.Current != "isec_third" || got.Previous != "" || got.PreviousExpiresAt != nil {
			t.Fatalf("after roll without grace: got %+v, %v", got, err)
		}
		if got, err := db.IdentitySecret(ctx, test); err != nil || got.Current != tm.IdentitySecrets[scope.Test] {
			t.Fatalf("test secret changed: got %+v, %v", got, err)
		}

		// A team without secrets (created before they existed) gets one on roll.
		if _, err := db.Bun().NewDelete().Table("identity_secrets").Where("team_id = ?", tm.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := db.IdentitySecret(ctx, live); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("deleted secret: got %v, want ErrNotFound", err)
		}
		if err := db.RollIdentitySecret(ctx, live, "isec_new", &exp, later); err != nil {
			t.Fatalf("roll missing: %v", err)
		}
		if got, err := db.IdentitySecret(ctx, live); err != nil || got.Current != "isec_new" || got.Previous != "" {
			t.Fatalf("rolled missing: got %+v, %v", got, err)
		}

		// user_hash_enabled defaults to true, and is per mode.
		if on, err := db.UserHashEnabled(ctx, live); err != nil || !on {
			t.Fatalf("user hash enabled: got %v, %v; want true", on, err)
		}
		if err := db.SetUserHashEnabled(ctx, live, false); err != nil {
			t.Fatal(err)
		}
		if on, err := db.UserHashEnabled(ctx, live); err != nil || on {
			t.Fatalf("user hash enabled: got %v, %v; want false", on, err)
		}
		if on, err := db.UserHashEnabled(ctx, test); err != nil || !on {
			t.Fatalf("user hash enabled in test after live's change: got %v, %v; want true", on, err)
		}
		if err := db.SetUserHashEnabled(ctx, scope.Scope{TeamID: uuid.NewString(), Mode: scope.Live}, false); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("unknown team: got %v, want ErrNotFound", err)
		}

		c := helpdesk.Customer{ID: uuid.NewString(), TeamID: tm.ID, Mode: scope.Live, ExternalID: "u1", CreatedAt: now, UpdatedAt: now}
		if err := db.InsertCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
		if got, err := db.CustomerByExternalID(ctx, live, "u1"); err != nil || got.ID != c.ID {
			t.Fatalf("by external id: got %+v, %v; want %s", got, err, c.ID)
		}
		if _, err := db.CustomerByExternalID(ctx, test, "u1"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("other mode: got %v, want ErrNotFound", err)
		}
	})
}
