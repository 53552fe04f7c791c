package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/identitytoken"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

func TestIdentify(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := storetest.Open(t, url)
		now := time.Now()
		tm, err := team.NewService(db, time.Now).Create(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		sc := scope.Scope{TeamID: tm.ID, Mode: scope.Live}
		svc := identity.NewService(db, hasher(t, weak), time.Now)
		secret := []byte(tm.IdentitySecrets[scope.Live])

		tok, err := identitytoken.Sign(secret, identitytoken.Claims{Subject: "u1", Email: "U1@Example.com", Name: "  One  "}, now)
		if err != nil {
			t.Fatal(err)
		}
		c, iss, err := svc.Identify(ctx, sc, identity.IdentifyInput{Token: tok}, "ip")
		if err != nil || c.ExternalID != "u1" || c.Email != "u1@example.com" || c.Name != "One" || iss.Token == "" {
			t.Fatalf("identify: got %+v, %v; want u1, u1@example.com, One and a session", c, err)
		}
		if _, got, err := svc.Authenticate(ctx, sc, iss.Token); err != nil || got.ID != c.ID {
			t.Fatalf("authenticate: got %+v, %v", got, err)
		}

		// An invalid email or name is ignored, not fatal.
		c2, _, err := svc.Identify(ctx, sc, identity.IdentifyInput{UserID: "u1", Email: "not an email", Name: "Uno",
			UserHash: identitytoken.UserHash(secret, "u1")}, "ip")
		if err != nil || c2.ID != c.ID || c2.Email != "u1@example.com" || c2.Name != "Uno" {
			t.Fatalf("identify by hash: got %+v, %v", c2, err)
		}

		_, _, err = svc.Identify(ctx, sc, identity.IdentifyInput{UserID: "u1", UserHash: identitytoken.UserHash([]byte("x"), "u1")}, "ip")
		if !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("wrong hash: got %v, want unauthorized", err)
		}

		// Failures count toward the per-client throttle.
		var last error
		for range identity.IPPolicy.Free + 1 {
			_, _, last = svc.Identify(ctx, sc, identity.IdentifyInput{Token: "x.y.z"}, "attacker")
		}
		if !errs.Is(last, errs.RateLimited) {
			t.Fatalf("after %d failures: got %v, want rate_limited", identity.IPPolicy.Free+1, last)
		}
		if _, _, err := svc.Identify(ctx, sc, identity.IdentifyInput{Token: tok}, "other"); err != nil {
			t.Fatalf("another client: got %v, want success", err)
		}
	})
}
