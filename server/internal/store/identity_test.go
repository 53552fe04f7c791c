package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

func TestIdentityRows(t *testing.T) {
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
		c := helpdesk.Customer{ID: uuid.NewString(), TeamID: tm.ID, Mode: scope.Live, Email: "a@b.co", Name: "A",
			CreatedAt: now, UpdatedAt: now}
		if err := db.InsertAccount(ctx, c, "h1"); err != nil {
			t.Fatalf("insert account: %v", err)
		}
		dup := c
		dup.ID = uuid.NewString()
		if err := db.InsertAccount(ctx, dup, "h2"); !errors.Is(err, errs.ErrConflict) {
			t.Fatalf("duplicate email: got %v, want ErrConflict", err)
		}
		got, hash, err := db.AccountByEmail(ctx, live, "a@b.co")
		if err != nil || got.ID != c.ID || hash != "h1" {
			t.Fatalf("account by email: got %v %q %v, want %s h1", got.ID, hash, err, c.ID)
		}
		if _, _, err := db.AccountByEmail(ctx, test, "a@b.co"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("other mode: got %v, want ErrNotFound", err)
		}
		if err := db.SetPasswordHash(ctx, live, c.ID, "h3"); err != nil {
			t.Fatal(err)
		}
		if _, hash, _ := db.AccountByEmail(ctx, live, "a@b.co"); hash != "h3" {
			t.Errorf("hash after set: got %q, want h3", hash)
		}

		ses := identity.Session{ID: uuid.NewString(), TeamID: tm.ID, Mode: scope.Live, CustomerID: c.ID,
			TokenHash: identity.HashToken("tok"), CreatedAt: now, LastUsedAt: now,
			ExpiresAt: now.Add(identity.IdleTTL), AbsoluteExpiresAt: now.Add(identity.AbsoluteTTL)}
		if err := db.InsertSession(ctx, ses); err != nil {
			t.Fatalf("insert session: %v", err)
		}
		back, err := db.SessionByTokenHash(ctx, live, identity.HashToken("tok"))
		if err != nil || back.ID != ses.ID || !back.ExpiresAt.Equal(ses.ExpiresAt) || back.CustomerID != c.ID {
			t.Fatalf("session by token: got %+v %v, want %+v", back, err, ses)
		}
		if _, err := db.SessionByTokenHash(ctx, test, identity.HashToken("tok")); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("session in other mode: got %v, want ErrNotFound", err)
		}
		later := now.Add(time.Hour)
		if err := db.TouchSession(ctx, live, ses.ID, later, later.Add(identity.IdleTTL)); err != nil {
			t.Fatal(err)
		}
		if l, _ := db.ListSessions(ctx, live, c.ID, later); len(l) != 1 || !l[0].LastUsedAt.Equal(later) {
			t.Fatalf("list: got %+v, want one session used at %v", l, later)
		}
		if l, _ := db.ListSessions(ctx, live, c.ID, later.Add(identity.AbsoluteTTL)); len(l) != 0 {
			t.Fatalf("list after expiry: got %d, want 0", len(l))
		}
		if n, err := db.DeleteSessions(ctx, live, c.ID); err != nil || n != 1 {
			t.Fatalf("delete sessions: got %d %v, want 1", n, err)
		}
		if err := db.DeleteSession(ctx, live, ses.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("delete gone session: got %v, want ErrNotFound", err)
		}
		// Deleting the customer takes its sessions along.
		if err := db.InsertSession(ctx, ses); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteCustomer(ctx, live, c.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByTokenHash(ctx, live, identity.HashToken("tok")); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("session of deleted customer: got %v, want ErrNotFound", err)
		}
	})
}
