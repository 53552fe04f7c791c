package httpapi_test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

var rateLimitRE = regexp.MustCompile(`^"hourly";r=(\d+);t=(\d+)$`)

// wantRateHeaders checks the five rate-limit headers of a response made
// under a limit of q per hour with remaining requests left.
func (r *resp) wantRateHeaders(t testing.TB, q, remaining int) {
	t.Helper()
	h := r.Header
	if got := h.Get("X-RateLimit-Limit"); got != strconv.Itoa(q) {
		t.Errorf("X-RateLimit-Limit: got %q, want %d", got, q)
	}
	if got := h.Get("X-RateLimit-Remaining"); got != strconv.Itoa(remaining) {
		t.Errorf("X-RateLimit-Remaining: got %q, want %d", got, remaining)
	}
	reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		t.Errorf("X-RateLimit-Reset: got %q, want a Unix time", h.Get("X-RateLimit-Reset"))
	} else if now := time.Now().Unix(); reset < now-5 || reset > now+3600*24*30+5 {
		// The server's clock may run ahead of the real one in these tests,
		// so only the shape and a loose range are checked here.
		t.Errorf("X-RateLimit-Reset: got %d, want a Unix time near %d", reset, now)
	}
	if got, want := h.Get("RateLimit-Policy"), fmt.Sprintf(`"hourly";q=%d;w=3600`, q); got != want {
		t.Errorf("RateLimit-Policy: got %q, want %q", got, want)
	}
	m := rateLimitRE.FindStringSubmatch(h.Get("RateLimit"))
	if m == nil {
		t.Errorf("RateLimit: got %q, want \"hourly\";r=N;t=N", h.Get("RateLimit"))
	} else if m[1] != strconv.Itoa(remaining) {
		t.Errorf("RateLimit: got r=%s, want r=%d", m[1], remaining)
	}
}

// want429 checks a rate-limited answer and returns its Retry-After.
func (r *resp) want429(t testing.TB) int {
	t.Helper()
	r.wantError(t, 429, protocol.MsgRateLimited)
	for k := range r.Body {
		switch k {
		case "success", "error", "code", "request_id":
		default:
			t.Errorf("429 body has unexpected field %q: %s", k, r)
		}
	}
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Fatalf("Retry-After: got %q, want an integer ≥ 1", r.Header.Get("Retry-After"))
	}
	return ra
}

// TestAPIRateLimitSecret: a secret key gets its hourly budget, then 429s
// with a Retry-After that is exact.
func TestAPIRateLimitSecret(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 5
		s := newTestServer(t, dbURL, withLimits(limit, 0, 0, 0))
		// Successes and errors both spend the budget and carry the headers.
		for i := range limit {
			var r *resp
			if i == 2 {
				r = s.do(t, "GET", s.path("/tickets/00000000-0000-7000-8000-000000000000"), s.SKLive, nil).wantError(t, 404, "")
			} else {
				r = s.do(t, "GET", s.path("/tickets"), s.SKLive, nil).want(t, 200)
			}
			r.wantRateHeaders(t, limit, limit-1-i)
		}
		r := s.do(t, "GET", s.path("/tickets"), s.SKLive, nil)
		ra := r.want429(t)
		r.wantRateHeaders(t, limit, 0)
		// 5 per hour is one every 720 s; the bucket just filled up.
		if ra != 720 {
			t.Errorf("Retry-After: got %d, want 720", ra)
		}
		// Writes are refused too, and write nothing.
		s.do(t, "POST", s.path("/tickets"), s.SKLive, map[string]any{"subject": "x"}).want429(t)
		// Another key has its own budget.
		s.do(t, "GET", s.path("/tickets"), s.SKTest, nil).want(t, 200).wantRateHeaders(t, limit, limit-1)
		if n := len(s.do(t, "GET", s.path("/tickets"), s.SKTest, nil).want(t, 200).items(t)); n != 0 {
			t.Errorf("test tickets: got %d, want 0", n)
		}

		if s.Dialect == "postgres" {
			// The shared limiter reads the database clock, which tests
			// cannot move.
			return
		}
		s.Clock.Advance(time.Duration(ra-1) * time.Second)
		s.do(t, "GET", s.path("/tickets"), s.SKLive, nil).want429(t)
		s.Clock.Advance(time.Second)
		s.do(t, "GET", s.path("/tickets"), s.SKLive, nil).want(t, 200).wantRateHeaders(t, limit, 0)
		// Only one request was earned back.
		s.do(t, "GET", s.path("/tickets"), s.SKLive, nil).want429(t)
		if n := len(s.do(t, "GET", s.path("/tickets"), s.SKTest, nil).want(t, 200).items(t)); n != 0 {
			t.Errorf("tickets written while rate limited: got %d, want 0", n)
		}
	})
}

// TestAPIRateHeadersOnEveryResponse: success and each kind of error carry
// the rate-limit headers.
func TestAPIRateHeadersOnEveryResponse(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, withLimits(50, 40, 30, 20))
		other := s.createTeam(t, "Other", uniqueSlug("other"))
		cases := []struct {
			name         string
			method, path string
			key          string
			body         any
			status, q    int
		}{
			{"200", "GET", s.path("/tickets"), s.SKLive, nil, 200, 50},
			{"201", "POST", s.path("/tickets"), s.SKLive, map[string]any{"subject": "x"}, 201, 50},
			{"400", "POST", s.path("/tickets"), s.SKLive, `{`, 400, 50},
			{"404", "GET", s.path("/tickets/00000000-0000-7000-8000-000000000000"), s.SKLive, nil, 404, 50},
			{"403 wrong team", "GET", "/api/v1/teams/" + other.ID + "/tickets", s.SKLive, nil, 403, 50},
			{"403 read-only", "POST", s.path("/tickets"), s.PKLive, map[string]any{"subject": "x"}, 403, 40},
			{"200 publishable", "GET", s.path("/articles"), s.PKLive, nil, 200, 40},
			{"401", "GET", s.path("/tickets"), "sk_live_bogus", nil, 401, 20},
			{"library 200", "GET", "/api/library/" + s.Team.Slug + "/articles", "", nil, 200, 30},
			{"library 404", "GET", "/api/library/no-such-team/articles", "", nil, 404, 30},
		}
		used := map[int]int{}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.do(t, c.method, c.path, c.key, c.body)
				if r.Status != c.status {
					t.Fatalf("status: got %d, want %d (%s)", r.Status, c.status, r)
				}
				used[c.q]++
				r.wantRateHeaders(t, c.q, c.q-used[c.q])
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
		s := newTestServer(t, dbURL, withLimits(0, limit, 0, 0), withProxy)
		get := func(key, ip string) *resp {
			return s.do(t, "GET", s.path("/articles"), key, nil, "X-Forwarded-For", ip)
		}
		for i := range limit {
			get(s.PKLive, "198.51.100.1").want(t, 200).wantRateHeaders(t, limit, limit-1-i)
		}
		ra := get(s.PKLive, "198.51.100.1").want429(t)
		if ra != 1200 {
			t.Errorf("Retry-After: got %d, want 1200 (3 per hour)", ra)
		}
		// Another IP, the same key.
		for i := range limit {
			get(s.PKLive, "198.51.100.2").want(t, 200).wantRateHeaders(t, limit, limit-1-i)
		}
		get(s.PKLive, "198.51.100.2").want429(t)
		// The proxy itself (no X-Forwarded-For) is one more client.
		get(s.PKLive, "").want(t, 200)
		// Another key, the exhausted IP.
		get(s.PKTest, "198.51.100.1").want(t, 200).wantRateHeaders(t, limit, limit-1)
		// Secret keys are not limited per IP, and have their own budget.
		s.do(t, "GET", s.path("/articles"), s.SKLive, nil, "X-Forwarded-For", "198.51.100.1").want(t, 200)
		// IPv6 clients are told apart too.
		get(s.PKLive, "2001:db8::1").want(t, 200)
	})
}

// TestAPIRateLimitUntrustedForwardedFor: without a trusted proxy,
// X-Forwarded-For cannot buy a fresh budget.
func TestAPIRateLimitUntrustedForwardedFor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 2
		s := newTestServer(t, dbURL, withLimits(0, limit, limit, limit))
		for i := range limit {
			s.do(t, "GET", s.path("/articles"), s.PKLive, nil, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)).want(t, 200)
			s.do(t, "GET", "/api/library/"+s.Team.Slug+"/articles", "", nil, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)).want(t, 200)
			s.do(t, "GET", s.path("/articles"), "pk_live_bogus", nil, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)).wantError(t, 401, "")
		}
		s.do(t, "GET", s.path("/articles"), s.PKLive, nil, "X-Forwarded-For", "203.0.113.99").want429(t)
		s.do(t, "GET", "/api/library/"+s.Team.Slug+"/articles", "", nil, "X-Forwarded-For", "203.0.113.99").want429(t)
		s.do(t, "GET", s.path("/articles"), "pk_live_bogus", nil, "X-Forwarded-For", "203.0.113.99").want429(t)
	})
}

// TestAPIRateLimitInvalidKeys: bad keys spend a per-IP budget, never a key's.
func TestAPIRateLimitInvalidKeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 3
		s := newTestServer(t, dbURL, withLimits(limit, 0, 0, limit), withProxy)
		bad := []string{flipLast(s.SKLive), "sk_live_short", ""}
		for i := range limit {
			r := s.do(t, "GET", s.path("/tickets"), bad[i], nil, "X-Forwarded-For", "198.51.100.7")
			r.wantError(t, 401, protocol.MsgInvalidAPIKey)
			r.wantRateHeaders(t, limit, limit-1-i)
		}
		r := s.do(t, "GET", s.path("/tickets"), flipLast(s.SKLive), nil, "X-Forwarded-For", "198.51.100.7")
		r.want429(t)
		r.wantRateHeaders(t, limit, 0)
		// Another IP may still fail to authenticate (401, not 429).
		s.do(t, "GET", s.path("/tickets"), flipLast(s.SKLive), nil, "X-Forwarded-For", "198.51.100.8").
			wantError(t, 401, protocol.MsgInvalidAPIKey)
		// The real key from the same IP has its whole budget: the bad keys,
		// one of them a corrupted copy of it, spent none of it.
		for i := range limit {
			s.do(t, "GET", s.path("/tickets"), s.SKLive, nil, "X-Forwarded-For", "198.51.100.7").
				want(t, 200).wantRateHeaders(t, limit, limit-1-i)
		}
		s.do(t, "GET", s.path("/tickets"), s.SKLive, nil, "X-Forwarded-For", "198.51.100.9").want429(t)
	})
}

// TestAPIRateLimitLibrary: the public Library API is limited per client IP.
func TestAPIRateLimitLibrary(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 4
		s := newTestServer(t, dbURL, withLimits(0, 0, limit, 0), withProxy)
		base := "/api/library/" + s.Team.Slug
		paths := []string{"/articles", "/categories", "/search?q=reset", "/articles"}
		for i, p := range paths {
			r := s.do(t, "GET", base+p, "", nil, "X-Forwarded-For", "198.51.100.20")
			r.want(t, 200).wantRateHeaders(t, limit, limit-1-i)
		}
		r := s.do(t, "GET", base+"/categories", "", nil, "X-Forwarded-For", "198.51.100.20")
		ra := r.want429(t)
		r.wantRateHeaders(t, limit, 0)
		if ra != 900 {
			t.Errorf("Retry-After: got %d, want 900 (4 per hour)", ra)
		}
		// A key does not lift the per-IP limit.
		s.do(t, "GET", base+"/articles", s.PKTest, nil, "X-Forwarded-For", "198.51.100.20").want429(t)
		// Another IP is not affected.
		s.do(t, "GET", base+"/articles", "", nil, "X-Forwarded-For", "198.51.100.21").want(t, 200).wantRateHeaders(t, limit, limit-1)
		// Nor is the authenticated API from the same IP.
		s.do(t, "GET", s.path("/articles"), s.PKLive, nil, "X-Forwarded-For", "198.51.100.20").want(t, 200)

		if s.Dialect == "postgres" {
			return
		}
		s.Clock.Advance(time.Duration(ra) * time.Second)
		s.do(t, "GET", base+"/articles", "", nil, "X-Forwarded-For", "198.51.100.20").want(t, 200)
		s.do(t, "GET", base+"/articles", "", nil, "X-Forwarded-For", "198.51.100.20").want429(t)
	})
}
