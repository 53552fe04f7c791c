package httpapi_test

import (
	"testing"

	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestAPISecurityHeaders: every answer says nosniff, and answers of the API
// and the widget API (customer data, sessions, keys) are never cached.
func TestAPISecurityHeaders(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		tok, id := customer(t, s, s.PKLive, "Ann")
		for _, c := range []struct {
			name      string
			r         *resp
			wantStore bool
		}{
			{"customer", s.Do(t, "GET", s.Path("/customers/"+id), s.SKLive, nil).Want(t, 200), true},
			{"keys", s.Do(t, "GET", s.Path("/api-keys"), s.SKLive, nil).Want(t, 200), true},
			{"an error", s.Do(t, "GET", s.Path("/customers/"+id), "", nil).Want(t, 401), true},
			{"widget me", s.Do(t, "GET", "/api/widget/v1/me", s.PKLive, nil, protocol.SessionHeader, tok).Want(t, 200), true},
			{"health", s.Do(t, "GET", "/healthz", "", nil).Want(t, 200), false},
		} {
			if got := c.r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options: got %q, want nosniff", c.name, got)
			}
			if got := c.r.Header.Get("Cache-Control"); c.wantStore && got != "no-store" {
				t.Errorf("%s: Cache-Control: got %q, want no-store", c.name, got)
			}
		}
	})
}
