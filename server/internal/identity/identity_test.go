package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

var (
	weak   = argon2id.Params{Memory: 512, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	strong = argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
)

func hasher(t *testing.T, p argon2id.Params) *password.Hasher {
	t.Helper()
	h, err := password.New(p, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestRehashOnLogin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := storetest.Open(t, url)
		tm, err := team.NewService(db, time.Now).Create(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		sc := scope.Scope{TeamID: tm.ID, Mode: scope.Live}
		_, _, err = identity.NewService(db, hasher(t, weak), time.Now).Signup(ctx, sc, identity.SignupInput{Email: "a@b.co", Name: "A", Password: "long enough pw"})
		if err != nil {
			t.Fatalf("signup: %v", err)
		}
		svc := identity.NewService(db, hasher(t, strong), time.Now)
		if _, _, err := svc.Login(ctx, sc, "a@b.co", "long enough pw", "ip"); err != nil {
			t.Fatalf("login: %v", err)
		}
		_, hash, err := db.AccountByEmail(ctx, sc, "a@b.co")
		if err != nil {
			t.Fatal(err)
		}
		if want := "$argon2id$v=19$m=1024,t=1,p=1$"; !strings.HasPrefix(hash, want) {
			t.Errorf("hash after login: got %q, want prefix %q", hash, want)
		}
		// The upgraded hash still verifies.
		if _, _, err := svc.Login(ctx, sc, "a@b.co", "long enough pw", "ip"); err != nil {
			t.Fatalf("second login: %v", err)
		}
		if _, _, err := svc.Login(ctx, sc, "a@b.co", "wrong password", "ip"); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("wrong password: got %v, want unauthorized", err)
		}
	})
}

func TestMemoryCounter(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := identity.NewMemoryCounter()
	p := identity.AccountSourcePolicy
	for i := 1; i < 5; i++ {
		if n, d, _ := c.Fail(ctx, "k", p, now); n != i || d != 0 {
			t.Fatalf("failure %d: got %d, wait %v; want %d, 0", i, n, d, i)
		}
	}
	want := 30 * time.Second
	for i := 5; i < 12; i++ {
		if _, d, _ := c.Fail(ctx, "k", p, now); d != want {
			t.Fatalf("failure %d: got wait %v, want %v", i, d, want)
		}
		if d, _ := c.Blocked(ctx, now, "other", "k"); d != want {
			t.Fatalf("blocked after failure %d: got %v, want %v", i, d, want)
		}
		want = min(2*want, 15*time.Minute)
	}
	if d, _ := c.Blocked(ctx, now, "other"); d != 0 {
		t.Errorf("other key: got %v, want 0", d)
	}
	// Failures are forgotten a window after the last one.
	now = now.Add(31 * time.Minute)
	if d, _ := c.Blocked(ctx, now, "k"); d != 0 {
		t.Errorf("after the wait: got %v, want 0", d)
	}
	if n, d, _ := c.Fail(ctx, "k", p, now); n != 1 || d != 0 {
		t.Errorf("first failure of a new window: got %d, wait %v; want 1, 0", n, d)
	}
	c.Reset(ctx, "k")
	c.Fail(ctx, "gone", p, now)
	c.Sweep(ctx, now.Add(16*time.Minute))
	if n := c.Len(); n != 0 {
		t.Errorf("after reset and sweep: got %d keys, want 0", n)
	}
}
