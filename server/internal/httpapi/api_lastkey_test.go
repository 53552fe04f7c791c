package httpapi_test

import (
	"sync"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestAPILastSecretKey: a mode's last active secret key cannot be revoked
// (409), also when two keys revoke each other at the same moment; keys
// that are ending (rolled with a grace) do not count; publishable keys and
// the other mode are unaffected. Before, a key could revoke itself and every
// other, and the team lost the API of that mode for good.
func TestAPILastSecretKey(t *testing.T) {
	const msg = "This is the last active secret key of this mode: create another secret key before revoking it"
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		liveID := s.Team.Keys["sk_live"].ID
		s.Do(t, "DELETE", s.Path("/api-keys/"+liveID), s.SKLive, nil).WantError(t, 409, msg)
		s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil).Want(t, 200)

		// Two revocations at once of the only two keys that are not ending,
		// made with a third that is (in its roll grace, so it still works but
		// does not count): one of them stays.
		second := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
		third := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
		next := s.Do(t, "POST", s.Path("/api-keys/"+str(third["id"])+"/roll"), s.SKLive, map[string]any{"expires_in": 3600}).
			Want(t, 201).Data(t)
		ending := str(third["key"])
		s.Do(t, "DELETE", s.Path("/api-keys/"+str(next["id"])), ending, nil).Want(t, 200)
		ids := []string{liveID, str(second["id"])}
		codes := make([]int, 2)
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() { codes[i] = s.Do(t, "DELETE", s.Path("/api-keys/"+id), ending, nil).Status })
		}
		wg.Wait()
		if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
			t.Fatalf("two revocations at once: got %v, want one 200 and one 409", codes)
		}
		survivor, survivorID := s.SKLive, liveID
		if codes[0] == 200 {
			survivor, survivorID = str(second["key"]), str(second["id"])
		}
		s.Do(t, "GET", s.Path("/tickets"), survivor, nil).Want(t, 200)

		// A key in its roll grace is ending: it does not keep the new one
		// revocable.
		rolled := s.Do(t, "POST", s.Path("/api-keys/"+survivorID+"/roll"), survivor, map[string]any{"expires_in": 3600}).
			Want(t, 201).Data(t)
		s.Do(t, "DELETE", s.Path("/api-keys/"+str(rolled["id"])), survivor, nil).WantError(t, 409, msg)

		// The test mode has its own last key; publishable keys may all go.
		testID := s.Team.Keys["sk_test"].ID
		s.Do(t, "DELETE", s.Path("/api-keys/"+testID), s.SKTest, nil).WantError(t, 409, msg)
		s.Do(t, "DELETE", s.Path("/api-keys/"+s.Team.Keys["pk_live"].ID), str(rolled["key"]), nil).Want(t, 200)
	})
}
