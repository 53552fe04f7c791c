package httpapi_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestAPIIdempotency: a retried POST with the same Idempotency-Key gets the
// first answer and creates nothing new.
func TestAPIIdempotency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		for _, res := range resources {
			t.Run(res.name, func(t *testing.T) {
				key := "idem-" + res.name
				body := res.create()
				first := s.Do(t, "POST", s.Path(res.name), s.SKLive, body, "Idempotency-Key", key).Want(t, 201)
				id := first.ID(t)
				again := s.Do(t, "POST", s.Path(res.name), s.SKLive, body, "Idempotency-Key", key).Want(t, 201)
				if got := again.ID(t); got != id {
					t.Errorf("replay id: got %s, want %s", got, id)
				}
				if !bytes.Equal(again.Raw, first.Raw) {
					t.Errorf("replay body: got %s, want %s", again.Raw, first.Raw)
				}
				if got := again.Header.Get("Idempotent-Replayed"); got != "true" {
					t.Errorf("Idempotent-Replayed: got %q, want true", got)
				}
				if first.Header.Get("Idempotent-Replayed") != "" {
					t.Errorf("first answer marked as replayed")
				}
				if again.Header.Get("X-Request-Id") == first.Header.Get("X-Request-Id") {
					t.Errorf("replay reuses the first request's X-Request-Id")
				}
				if n := s.count(t, s.Path(res.name), s.SKLive); n != 1 {
					t.Errorf("live items: got %d, want 1", n)
				}

				// The same key with another body is a conflict.
				other := res.create()
				s.Do(t, "POST", s.Path(res.name), s.SKLive, other, "Idempotency-Key", key).WantError(t, 409, "")
				if n := s.count(t, s.Path(res.name), s.SKLive); n != 1 {
					t.Errorf("live items after a conflict: got %d, want 1", n)
				}

				// Keys are per mode: the test key starts afresh.
				tr := s.Do(t, "POST", s.Path(res.name), s.SKTest, body, "Idempotency-Key", key).Want(t, 201)
				if tid := tr.ID(t); tid == id {
					t.Errorf("test-mode create with the same Idempotency-Key returned the live object %s", id)
				}
				if tr.Header.Get("Idempotent-Replayed") != "" {
					t.Errorf("test-mode create marked as replayed")
				}
				if n := s.count(t, s.Path(res.name), s.SKTest); n != 1 {
					t.Errorf("test items: got %d, want 1", n)
				}

				// Another key with the same body creates another object.
				if got := s.Do(t, "POST", s.Path(res.name), s.SKLive, res.create(), "Idempotency-Key", key+"-2").Want(t, 201).ID(t); got == id {
					t.Errorf("a new Idempotency-Key replayed %s", id)
				}
				// Without a key, every POST creates.
				s.Do(t, "POST", s.Path(res.name), s.SKLive, res.create()).Want(t, 201)
				if n := s.count(t, s.Path(res.name), s.SKLive); n != 3 {
					t.Errorf("live items: got %d, want 3", n)
				}
			})
		}

		t.Run("other team", func(t *testing.T) {
			other := s.CreateTeam(t, "Other", apptest.UniqueSlug("other"))
			body := map[string]any{"subject": "same"}
			a := s.Do(t, "POST", s.Path("/tickets"), s.SKLive, body, "Idempotency-Key", "shared").Want(t, 201).ID(t)
			b := s.Do(t, "POST", "/api/v1/teams/"+other.ID+"/tickets", other.Keys["sk_live"].Secret, body, "Idempotency-Key", "shared").Want(t, 201).ID(t)
			if a == b {
				t.Errorf("two teams share an Idempotency-Key record")
			}
		})

		t.Run("too long", func(t *testing.T) {
			long := string(bytes.Repeat([]byte("k"), 256))
			s.Do(t, "POST", s.Path("/tickets"), s.SKLive, map[string]any{"subject": "x"}, "Idempotency-Key", long).
				WantError(t, 400, "").WantField(t, "Idempotency-Key")
		})

		t.Run("concurrent retries", func(t *testing.T) {
			before := s.count(t, s.Path("/customers"), s.SKTest)
			body := map[string]any{"email": "race@example.com"}
			var wg sync.WaitGroup
			res := make([]*resp, 8)
			for i := range res {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[i] = s.Do(t, "POST", s.Path("/customers"), s.SKTest, body, "Idempotency-Key", "race")
				}()
			}
			wg.Wait()
			ids := map[string]bool{}
			for _, r := range res {
				if r == nil {
					continue // the request itself failed and was reported
				}
				switch r.Status {
				case 201:
					ids[r.ID(t)] = true
				case 409:
				default:
					t.Errorf("concurrent retry: got %s, want 201 or 409", r)
				}
			}
			if len(ids) != 1 {
				t.Errorf("concurrent retries returned %d different ids, want 1", len(ids))
			}
			if n := s.count(t, s.Path("/customers"), s.SKTest); n != before+1 {
				t.Errorf("customers: got %d, want %d", n, before+1)
			}
		})
	})
}

// TestAPIIdempotencyKeepsNoSecrets: the promise is that a key's secret is
// shown once and stored only as a hash. A create or roll made with an
// Idempotency-Key must not leave the secret in the database.
func TestAPIIdempotencyKeepsNoSecrets(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		d := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}, "Idempotency-Key", "k1").Want(t, 201).Data(t)
		secret := str(d["key"])
		r := s.Do(t, "POST", s.Path("/api-keys/"+str(d["id"])+"/roll"), s.SKLive, nil, "Idempotency-Key", "k2").Want(t, 201)
		rolled := str(r.Data(t)["key"])

		rows, err := s.App.DB().Bun().QueryContext(context.Background(), "SELECT response FROM idempotency_keys")
		if err != nil {
			t.Fatalf("read idempotency records: %v", err)
		}
		defer rows.Close()
		for rows.Next() {
			var body []byte
			if err := rows.Scan(&body); err != nil {
				t.Fatal(err)
			}
			for name, k := range map[string]string{"created": secret, "rolled": rolled} {
				if bytes.Contains(body, []byte(k)) {
					t.Errorf("the %s key's secret is stored in plain text in idempotency_keys: %s", name, body)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	})
}
