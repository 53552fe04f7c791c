package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestAuditLogOfTheAPI: changes made with a secret key (keys, origins,
// identity settings, the name) are in the audit log with the key as the
// actor, in the key's mode (the name in both); publishable keys cannot read
// the log; it pages like the other lists.
func TestAuditLogOfTheAPI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		k := s.Do(t, "POST", s.Path("/api-keys"), s.SKTest, map[string]any{"type": "publishable"}).Want(t, 201).Data(t)
		s.Do(t, "POST", s.Path("/api-keys/"+str(k["id"])+"/roll"), s.SKTest, map[string]any{"expires_in": 60}).Want(t, 201)
		s.Do(t, "DELETE", s.Path("/api-keys/"+str(k["id"])), s.SKTest, nil).Want(t, 200)
		s.Do(t, "PATCH", s.Path(""), s.SKTest, map[string]any{"allowed_origins": []string{"https://shop.example.com"}}).Want(t, 200)
		s.Do(t, "POST", s.Path("/identity-secret/roll"), s.SKTest, nil).Want(t, 200)
		s.Do(t, "PATCH", s.Path("/identity-settings"), s.SKTest, map[string]any{"user_hash_enabled": false}).Want(t, 200)
		s.Do(t, "PATCH", s.Path(""), s.SKLive, map[string]any{"name": "Acme Corp"}).Want(t, 200)

		test := s.Do(t, "GET", s.Path("/audit-log"), s.SKTest, nil).Want(t, http.StatusOK).Items(t)
		want := []string{"team.renamed", "user_hash.changed", "identity_secret.rolled", "allowed_origins.changed",
			"api_key.revoked", "api_key.rolled", "api_key.created"}
		if len(test) != len(want) {
			t.Fatalf("test mode's log: got %d entries %v, want %v", len(test), test, want)
		}
		for i, e := range test {
			actor, _ := e["actor"].(map[string]any)
			if e["action"] != want[i] || actor["type"] != "api_key" || actor["name"] == "" {
				t.Errorf("entry %d: got %v, want %s by an API key", i, e, want[i])
			}
		}
		if test[0]["mode"] != nil || test[1]["mode"] != "test" {
			t.Errorf("modes: the rename %v, want null; the rest test", test[0]["mode"])
		}
		live := s.Do(t, "GET", s.Path("/audit-log"), s.SKLive, nil).Want(t, http.StatusOK).Items(t)
		if len(live) != 1 || live[0]["action"] != "team.renamed" {
			t.Errorf("live mode's log: got %v, want the rename only", live)
		}
		s.Do(t, "GET", s.Path("/audit-log"), s.PKTest, nil).WantError(t, http.StatusForbidden, "Publishable keys cannot access this resource")
		if n := s.count(t, s.Path("/audit-log"), s.SKTest); n != 7 {
			t.Errorf("paged: %d entries, want 7", n)
		}
		s.Do(t, "GET", s.Path("/audit-log?limit=0"), s.SKTest, nil).Want(t, http.StatusBadRequest)
	})
}
