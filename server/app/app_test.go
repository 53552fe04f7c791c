package app_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

func start(t *testing.T, dbURL string, secretLimit int) *app.App {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DatabaseURL = dbURL
	cfg.SecretLimit = secretLimit
	a, err := app.Open(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	a.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return a
}

func get(t *testing.T, url, key string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	res.Body.Close()
	return res
}

// TestTwoProcessesShareOneLimit runs two servers on one PostgreSQL database
// and shows that a key's hourly limit holds across both.
func TestTwoProcessesShareOneLimit(t *testing.T) {
	url := testdb.Postgres(t)
	const limit = 12
	a := start(t, url, limit)
	b := start(t, url, limit)
	c, err := a.Teams().Create(context.Background(), "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
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
			switch code := get(t, srv.URL()+"/api/v1/teams/acme/tickets", key).StatusCode; code {
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
		c, err := a.Teams().Create(context.Background(), "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		sk, victim := c.Keys["sk_live"], c.Keys["pk_live"]
		if code := get(t, b.URL()+"/api/v1/teams/acme", victim.Secret).StatusCode; code != http.StatusOK {
			t.Fatalf("before revocation: got %d, want 200", code)
		}
		req, _ := http.NewRequest("DELETE", fmt.Sprintf("%s/api/v1/teams/acme/api-keys/%s", a.URL(), victim.ID), nil)
		req.Header.Set("Authorization", "Bearer "+sk.Secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("revoke: got %v, %v", res, err)
		}
		revoked := time.Now()
		for {
			code := get(t, b.URL()+"/api/v1/teams/acme", victim.Secret).StatusCode
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
