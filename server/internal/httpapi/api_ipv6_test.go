package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestAPIRateLimitIPv6Prefix: per-IP budgets count an IPv6 client by its
// /64, so a client that owns a /64 cannot take a fresh budget per address;
// another /64 has its own. Before, each of the 2^64 addresses had one.
func TestAPIRateLimitIPv6Prefix(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 3
		s := newTestServer(t, dbURL, apptest.Limits(0, limit, limit, limit), apptest.TrustLoopbackProxy)
		for _, c := range []struct{ name, path, key string }{
			{"publishable key", s.Path("/articles"), s.PKLive},
			{"library", "/api/library/" + s.Team.Slug + "/articles", ""},
			{"invalid key", s.Path("/articles"), "pk_live_bogus"},
		} {
			t.Run(c.name, func(t *testing.T) {
				get := func(ip string) *resp { return s.Do(t, "GET", c.path, c.key, nil, "X-Forwarded-For", ip) }
				want := 200
				if c.key == "pk_live_bogus" {
					want = 401
				}
				net := map[string]string{"publishable key": "2001:db8:1:", "library": "2001:db8:2:", "invalid key": "2001:db8:3:"}[c.name]
				for i := range limit {
					if r := get(fmt.Sprintf("%s1::%x", net, i+1)); r.Status != want {
						t.Fatalf("request %d from the /64: got %s, want %d", i, r, want)
					}
				}
				get(net + "1:ffff:ffff:ffff:ffff").Want429(t)
				if r := get(net + "2::1"); r.Status != want {
					t.Fatalf("another /64: got %s, want %d", r, want)
				}
			})
		}
	})
}
