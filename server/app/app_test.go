package app_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// start runs a server on dbURL with a secret-key limit; the tests create
// their team through one of two servers.
func start(t *testing.T, dbURL string, secretLimit int) *apptest.Server {
	return apptest.Start(t, dbURL, apptest.Limits(secretLimit, 0, 0, 0), apptest.NoTeam)
}

// TestTwoProcessesShareOneLimit runs two servers on one PostgreSQL database
// and shows that a key's hourly limit holds across both.
func TestTwoProcessesShareOneLimit(t *testing.T) {
	url := testdb.Postgres(t)
	const limit = 12
	a := start(t, url, limit)
	b := start(t, url, limit)
	c := a.CreateTeam(t, "Acme", "acme")
	key := c.Keys["sk_test"].Secret
	var allowed, limited atomic.Int32
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := a
			if i%2 == 1 {
				srv = b
			}
			switch code := srv.Do(t, "GET", "/api/v1/teams/acme/tickets", key, nil).Status; code {
			case http.StatusOK:
				allowed.Add(1)
			case http.StatusTooManyRequests:
				limited.Add(1)
			default:
				t.Errorf("got status %d, want 200 or 429", code)
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != limit || limited.Load() != 30-limit {
		t.Fatalf("got %d allowed and %d limited across two servers, want %d and %d", allowed.Load(), limited.Load(), limit, 30-limit)
	}
}

// TestRevocationReachesOtherProcess revokes a key through one server and
// checks that the other, which has the key cached, refuses it within a second.
func TestRevocationReachesOtherProcess(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		if url[:6] == "sqlite" {
			t.Skip("SQLite mode is single-process")
		}
		a := start(t, url, 1000)
		b := start(t, url, 1000)
		c := a.CreateTeam(t, "Acme", "acme")
		sk, victim := c.Keys["sk_live"], c.Keys["pk_live"]
		if code := b.Do(t, "GET", "/api/v1/teams/acme", victim.Secret, nil).Status; code != http.StatusOK {
			t.Fatalf("before revocation: got %d, want 200", code)
		}
		a.Do(t, "DELETE", "/api/v1/teams/acme/api-keys/"+victim.ID, sk.Secret, nil).Want(t, http.StatusOK)
		revoked := time.Now()
		for {
			code := b.Do(t, "GET", "/api/v1/teams/acme", victim.Secret, nil).Status
			if code == http.StatusUnauthorized {
				break
			}
			if time.Since(revoked) > time.Second {
				t.Fatalf("other process still accepts the revoked key after %v (status %d)", time.Since(revoked), code)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
