package httpapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestAPIRateLimitSecret: a secret key gets its hourly budget, then 429s
// with a Retry-After that is exact.
func TestAPIRateLimitSecret(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 5
		s := newTestServer(t, dbURL, apptest.Limits(limit, 0, 0, 0))
		// Successes and errors both spend the budget and carry the headers.
		for i := range limit {
			var r *resp
			if i == 2 {
				r = s.Do(t, "GET", s.Path("/tickets/00000000-0000-7000-8000-000000000000"), s.SKLive, nil).WantError(t, 404, "")
			} else {
				r = s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil).Want(t, 200)
			}
			r.WantRateHeaders(t, limit, limit-1-i)
		}
		r := s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil)
		ra := r.Want429(t)
		r.WantRateHeaders(t, limit, 0)
		// 5 per hour is one every 720 s; the bucket just filled up.
		if ra != 720 {
			t.Errorf("Retry-After: got %d, want 720", ra)
		}
		// Writes are refused too, and write nothing.
		s.Do(t, "POST", s.Path("/tickets"), s.SKLive, map[string]any{"subject": "x"}).Want429(t)
		// Another key has its own budget.
		s.Do(t, "GET", s.Path("/tickets"), s.SKTest, nil).Want(t, 200).WantRateHeaders(t, limit, limit-1)
		if n := len(s.Do(t, "GET", s.Path("/tickets"), s.SKTest, nil).Want(t, 200).Items(t)); n != 0 {
			t.Errorf("test tickets: got %d, want 0", n)
		}

		if s.Dialect == "postgres" {
			// The shared limiter reads the database clock, which tests
			// cannot move.
			return
		}
		s.Clock.Advance(time.Duration(ra-1) * time.Second)
		s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil).Want429(t)
		s.Clock.Advance(time.Second)
		s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil).Want(t, 200).WantRateHeaders(t, limit, 0)
		// Only one request was earned back.
		s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil).Want429(t)
		if n := len(s.Do(t, "GET", s.Path("/tickets"), s.SKTest, nil).Want(t, 200).Items(t)); n != 0 {
			t.Errorf("tickets written while rate limited: got %d, want 0", n)
		}
	})
}

// TestAPIRateHeadersOnEveryResponse: success and each kind of error carry
// the rate-limit headers.
func TestAPIRateHeadersOnEveryResponse(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Limits(50, 40, 30, 20))
		other := s.CreateTeam(t, "Other", apptest.UniqueSlug("other"))
		cases := []struct {
			name         string
			method, path string
			key          string
			body         any
			status, q    int
		}{
			{"200", "GET", s.Path("/tickets"), s.SKLive, nil, 200, 50},
			{"201", "POST", s.Path("/tickets"), s.SKLive, map[string]any{"subject": "x"}, 201, 50},
			{"400", "POST", s.Path("/tickets"), s.SKLive, `{`, 400, 50},
			{"404", "GET", s.Path("/tickets/00000000-0000-7000-8000-000000000000"), s.SKLive, nil, 404, 50},
			{"403 wrong team", "GET", "/api/v1/teams/" + other.ID + "/tickets", s.SKLive, nil, 403, 50},
			{"403 read-only", "POST", s.Path("/tickets"), s.PKLive, map[string]any{"subject": "x"}, 403, 40},
			{"200 publishable", "GET", s.Path("/articles"), s.PKLive, nil, 200, 40},
			{"401", "GET", s.Path("/tickets"), "sk_live_bogus", nil, 401, 20},
			{"library 200", "GET", "/api/library/" + s.Team.Slug + "/articles", "", nil, 200, 30},
			{"library 404", "GET", "/api/library/no-such-team/articles", "", nil, 404, 30},
		}
		used := map[int]int{}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, c.method, c.path, c.key, c.body)
				if r.Status != c.status {
					t.Fatalf("status: got %d, want %d (%s)", r.Status, c.status, r)
				}
				used[c.q]++
				r.WantRateHeaders(t, c.q, c.q-used[c.q])
			})
		}
	})
}

// TestAPIRateLimitPublishable: publishable keys are limited per key and
// client IP, so one busy visitor does not lock out the others.
func TestAPIRateLimitPublishable(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 3
		s := newTestServer(t, dbURL, apptest.Limits(0, limit, 0, 0), apptest.TrustLoopbackProxy)
		get := func(key, ip string) *resp {
			return s.Do(t, "GET", s.Path("/articles"), key, nil, "X-Forwarded-For", ip)
		}
		for i := range limit {
			get(s.PKLive, "198.51.100.1").Want(t, 200).WantRateHeaders(t, limit, limit-1-i)
		}
		ra := get(s.PKLive, "198.51.100.1").Want429(t)
		if ra != 1200 {
			t.Errorf("Retry-After: got %d, want 1200 (3 per hour)", ra)
		}
		// Another IP, the same key.
		for i := range limit {
			get(s.PKLive, "198.51.100.2").Want(t, 200).WantRateHeaders(t, limit, limit-1-i)
		}
		get(s.PKLive, "198.51.100.2").Want429(t)
		// The proxy itself (no X-Forwarded-For) is one more client.
		get(s.PKLive, "").Want(t, 200)
		// Another key, the exhausted IP.
		get(s.PKTest, "198.51.100.1").Want(t, 200).WantRateHeaders(t, limit, limit-1)
		// Secret keys are not limited per IP, and have their own budget.
		s.Do(t, "GET", s.Path("/articles"), s.SKLive, nil, "X-Forwarded-For", "198.51.100.1").Want(t, 200)
		// IPv6 clients are told apart too.
		get(s.PKLive, "2001:db8::1").Want(t, 200)
	})
}

// TestAPIRateLimitUntrustedForwardedFor: without a trusted proxy,
// X-Forwarded-For cannot buy a fresh budget.
func TestAPIRateLimitUntrustedForwardedFor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 2
		s := newTestServer(t, dbURL, apptest.Limits(0, limit, limit, limit))
		for i := range limit {
			s.Do(t, "GET", s.Path("/articles"), s.PKLive, nil, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)).Want(t, 200)
			s.Do(t, "GET", "/api/library/"+s.Team.Slug+"/articles", "", nil, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)).Want(t, 200)
			s.Do(t, "GET", s.Path("/articles"), "pk_live_bogus", nil, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)).WantError(t, 401, "")
		}
		s.Do(t, "GET", s.Path("/articles"), s.PKLive, nil, "X-Forwarded-For", "203.0.113.99").Want429(t)
		s.Do(t, "GET", "/api/library/"+s.Team.Slug+"/articles", "", nil, "X-Forwarded-For", "203.0.113.99").Want429(t)
		s.Do(t, "GET", s.Path("/articles"), "pk_live_bogus", nil, "X-Forwarded-For", "203.0.113.99").Want429(t)
	})
}

// TestAPIRateLimitInvalidKeys: bad keys spend a per-IP budget, never a key's.
func TestAPIRateLimitInvalidKeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 3
		s := newTestServer(t, dbURL, apptest.Limits(limit, 0, 0, limit), apptest.TrustLoopbackProxy)
		bad := []string{flipLast(s.SKLive), "sk_live_short", ""}
		for i := range limit {
			r := s.Do(t, "GET", s.Path("/tickets"), bad[i], nil, "X-Forwarded-For", "198.51.100.7")
			r.WantError(t, 401, protocol.MsgInvalidAPIKey)
			r.WantRateHeaders(t, limit, limit-1-i)
		}
		r := s.Do(t, "GET", s.Path("/tickets"), flipLast(s.SKLive), nil, "X-Forwarded-For", "198.51.100.7")
		r.Want429(t)
		r.WantRateHeaders(t, limit, 0)
		// Another IP may still fail to authenticate (401, not 429).
		s.Do(t, "GET", s.Path("/tickets"), flipLast(s.SKLive), nil, "X-Forwarded-For", "198.51.100.8").
			WantError(t, 401, protocol.MsgInvalidAPIKey)
		// The real key from the same IP has its whole budget: the bad keys,
		// one of them a corrupted copy of it, spent none of it.
		for i := range limit {
			s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil, "X-Forwarded-For", "198.51.100.7").
				Want(t, 200).WantRateHeaders(t, limit, limit-1-i)
		}
		s.Do(t, "GET", s.Path("/tickets"), s.SKLive, nil, "X-Forwarded-For", "198.51.100.9").Want429(t)
	})
}

// TestAPIRateLimitLibrary: the public Library API is limited per client IP.
func TestAPIRateLimitLibrary(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 4
		s := newTestServer(t, dbURL, apptest.Limits(0, 0, limit, 0), apptest.TrustLoopbackProxy)
		base := "/api/library/" + s.Team.Slug
		paths := []string{"/articles", "/categories", "/search?q=reset", "/articles"}
		for i, p := range paths {
			r := s.Do(t, "GET", base+p, "", nil, "X-Forwarded-For", "198.51.100.20")
			r.Want(t, 200).WantRateHeaders(t, limit, limit-1-i)
		}
		r := s.Do(t, "GET", base+"/categories", "", nil, "X-Forwarded-For", "198.51.100.20")
		ra := r.Want429(t)
		r.WantRateHeaders(t, limit, 0)
		if ra != 900 {
			t.Errorf("Retry-After: got %d, want 900 (4 per hour)", ra)
		}
		// A key does not lift the per-IP limit.
		s.Do(t, "GET", base+"/articles", s.PKTest, nil, "X-Forwarded-For", "198.51.100.20").Want429(t)
		// Another IP is not affected.
		s.Do(t, "GET", base+"/articles", "", nil, "X-Forwarded-For", "198.51.100.21").Want(t, 200).WantRateHeaders(t, limit, limit-1)
		// Nor is the authenticated API from the same IP.
		s.Do(t, "GET", s.Path("/articles"), s.PKLive, nil, "X-Forwarded-For", "198.51.100.20").Want(t, 200)

		if s.Dialect == "postgres" {
			return
		}
		s.Clock.Advance(time.Duration(ra) * time.Second)
		s.Do(t, "GET", base+"/articles", "", nil, "X-Forwarded-For", "198.51.100.20").Want(t, 200)
		s.Do(t, "GET", base+"/articles", "", nil, "X-Forwarded-For", "198.51.100.20").Want429(t)
	})
}
