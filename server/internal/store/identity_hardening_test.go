package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestSigninCounter runs the same rules on the store's counter (on SQLite
// and PostgreSQL) and on the memory one, and checks that two handles on one
// database, as two server processes, count together (hardening item 10).
func TestSigninCounter(t *testing.T) {
	rules := func(t *testing.T, a, b identity.Counter) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		p := identity.AccountSourcePolicy
		// Failures alternate between the two processes.
		for i := 1; i <= 4; i++ {
			c := []identity.Counter{a, b}[i%2]
			if n, d, err := c.Fail(ctx, "k", p, now); err != nil || n != i || d != 0 {
				t.Fatalf("failure %d: got %d, wait %v, %v; want %d, 0", i, n, d, err, i)
			}
		}
		if n, d, err := a.Fail(ctx, "k", p, now); err != nil || n != 5 || d != 30*time.Second {
			t.Fatalf("failure 5: got %d, wait %v, %v; want 5, 30s", n, d, err)
		}
		if d, err := b.Blocked(ctx, now.Add(10*time.Second), "other", "k"); err != nil || d != 20*time.Second {
			t.Fatalf("blocked, seen by the other process: got %v, %v; want 20s", d, err)
		}
		if _, d, _ := b.Fail(ctx, "k", p, now.Add(30*time.Second)); d != time.Minute {
			t.Fatalf("failure 6: got wait %v, want 1m (doubled)", d)
		}
		if d, _ := a.Blocked(ctx, now, "nothing"); d != 0 {
			t.Errorf("unknown key: got %v, want 0", d)
		}
		// A window after the last failure the count starts again.
		later := now.Add(30*time.Second + p.Window + time.Second)
		if d, _ := a.Blocked(ctx, later, "k"); d != 0 {
			t.Errorf("after the window: got %v, want 0", d)
		}
		if n, _, _ := a.Fail(ctx, "k", p, later); n != 1 {
			t.Errorf("first failure of a new window: got %d, want 1", n)
		}
		// Reset forgets at once; Sweep forgets what has expired.
		a.Fail(ctx, "r", identity.UnderAttackPolicy, now)
		if d, _ := b.Blocked(ctx, now, "r"); d != 30*time.Second {
			t.Errorf("one free failure under attack: got %v, want 30s", d)
		}
		if err := b.Reset(ctx, "r"); err != nil {
			t.Fatal(err)
		}
		if d, _ := a.Blocked(ctx, now, "r"); d != 0 {
			t.Errorf("after reset: got %v, want 0", d)
		}
		a.Fail(ctx, "old", p, now)
		if err := b.Sweep(ctx, later.Add(p.Window)); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := a.Fail(ctx, "old", p, now); n != 1 {
			t.Errorf("after sweep: got %d failures, want 1 (forgotten)", n)
		}
	}
	t.Run("memory", func(t *testing.T) {
		m := identity.NewMemoryCounter()
		rules(t, m, m)
	})
	testdb.Each(t, func(t *testing.T, url string) {
		a, b := storetest.Open(t, url), storetest.Open(t, url)
		rules(t, a.ThrottleCounter(), b.ThrottleCounter())
	})
}

// TestTokenIDs: a used jti is refused through another handle on the same
// database (another process, or the same one after a restart) until it
// expires, and of racing uses exactly one wins (hardening item 9).
func TestTokenIDs(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		a, b := storetest.Open(t, url), storetest.Open(t, url)
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		exp := now.Add(time.Hour)
		if fresh, err := a.UseTokenID(ctx, "team/live\x00jti-1", exp, now); err != nil || !fresh {
			t.Fatalf("first use: got %v, %v; want fresh", fresh, err)
		}
		if fresh, err := b.UseTokenID(ctx, "team/live\x00jti-1", exp, now.Add(time.Minute)); err != nil || fresh {
			t.Fatalf("second use, other process: got %v, %v; want used", fresh, err)
		}
		if fresh, _ := b.UseTokenID(ctx, "team/test\x00jti-1", exp, now); !fresh {
			t.Error("same jti in another scope: got used, want fresh")
		}
		if err := a.SweepTokenIDs(ctx, now.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if fresh, _ := b.UseTokenID(ctx, "team/live\x00jti-1", exp, now.Add(31*time.Minute)); fresh {
			t.Error("after a sweep before expiry: got fresh, want used")
		}
		if err := a.SweepTokenIDs(ctx, exp); err != nil {
			t.Fatal(err)
		}
		if fresh, _ := b.UseTokenID(ctx, "team/live\x00jti-1", exp.Add(time.Hour), exp); !fresh {
			t.Error("after expiry and sweep: got used, want fresh")
		}
		// An expired record is taken over even before a sweep.
		a.UseTokenID(ctx, "k2", now.Add(time.Minute), now)
		if fresh, _ := b.UseTokenID(ctx, "k2", now.Add(time.Hour), now.Add(2*time.Minute)); !fresh {
			t.Error("expired, not swept: got used, want fresh")
		}

		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db := []interface {
					UseTokenID(context.Context, string, time.Time, time.Time) (bool, error)
				}{a, b}[i%2]
				fresh, err := db.UseTokenID(ctx, "race", exp, now)
				if err != nil {
					t.Errorf("race: %v", err)
				}
				if fresh {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("racing uses: %d fresh, want 1", wins)
		}
	})
}

// TestUnverifiedEmails: an email claimed without proof is kept apart and is
// never unique, looked up or merged; a password account's sign-in name is
// unique among password accounts only (hardening item 4).
func TestUnverifiedEmails(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := storetest.Open(t, url)
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		tm, err := team.NewService(db, func() time.Time { return now }).Create(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		sc := scope.Scope{TeamID: tm.ID, Mode: scope.Live}
		cust := func(email, ext string) helpdesk.Customer {
			return helpdesk.Customer{ID: uuid.NewString(), TeamID: tm.ID, Mode: scope.Live, Email: email, Name: "N",
				ExternalID: ext, Metadata: map[string]any{}, CreatedAt: now, UpdatedAt: now}
		}

		claimed := cust("", "site-1")
		if err := db.InsertIdentified(ctx, claimed, identity.Verification{EmailVerified: true, UnverifiedEmail: "victim@example.com"}); err != nil {
			t.Fatal(err)
		}
		got, v, err := db.IdentifiedByExternalID(ctx, sc, "site-1")
		if err != nil || got.Email != "" || v.UnverifiedEmail != "victim@example.com" || v.NameVerified {
			t.Fatalf("claimed: got %+v, %+v, %v; want no email, unverified victim@example.com, name unverified", got, v, err)
		}
		// The claim blocks nothing and is found by nothing.
		owner := cust("victim@example.com", "")
		if err := db.InsertAccount(ctx, owner, "hash"); err != nil {
			t.Fatalf("the owner's signup: got %v, want success", err)
		}
		acct, _, err := db.AccountByEmail(ctx, sc, "victim@example.com")
		if err != nil || acct.ID != owner.ID {
			t.Fatalf("account by email: got %v, %v; want the owner", acct.ID, err)
		}
		// Only verified emails are looked up: not a sign-in name.
		list, err := db.ListCustomers(ctx, sc, helpdesk.CustomerFilter{Email: "victim@example.com"}, "", 10)
		if err != nil || len(list) != 0 {
			t.Fatalf("customers by email: got %d, %v; want none", len(list), err)
		}
		if v, _ := db.CustomerVerification(ctx, sc, owner.ID); v.EmailVerified || v.NameVerified {
			t.Errorf("password account: got %+v, want email and name unverified", v)
		}

		// Sign-in names are unique among password accounts...
		if err := db.InsertAccount(ctx, cust("victim@example.com", ""), "hash"); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("second account with the email: got %v, want conflict", err)
		}
		// ...and neither block nor are blocked by a proven email.
		proven := cust("victim@example.com", "site-2")
		if err := db.InsertIdentified(ctx, proven, identity.Verification{EmailVerified: true, NameVerified: true}); err != nil {
			t.Fatalf("proven email beside a sign-in name: got %v, want success", err)
		}
		if err := db.InsertCustomer(ctx, cust("victim@example.com", "")); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("second proven email: got %v, want conflict", err)
		}
		if err := db.InsertAccount(ctx, cust("other@example.com", ""), "hash"); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertCustomer(ctx, cust("other@example.com", "")); err != nil {
			t.Errorf("API customer beside a sign-in name: got %v, want success", err)
		}

		// Updating keeps the claim apart too.
		claimed.Name = "Claimed Name"
		if err := db.UpdateIdentified(ctx, claimed, identity.Verification{EmailVerified: true, UnverifiedEmail: "other@example.com"}); err != nil {
			t.Fatal(err)
		}
		if got, v, _ := db.IdentifiedByExternalID(ctx, sc, "site-1"); got.Email != "" || got.Name != "Claimed Name" || v.UnverifiedEmail != "other@example.com" {
			t.Errorf("after update: got %+v, %+v", got, v)
		}
	})
}
