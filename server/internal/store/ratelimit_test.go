package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/ratelimit"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

var _ ratelimit.Limiter = (*store.PGLimiter)(nil)

func pgAllow(t *testing.T, l *store.PGLimiter, key string, lim ratelimit.Limit) ratelimit.Result {
	t.Helper()
	r, err := l.Allow(context.Background(), key, lim)
	if err != nil {
		t.Fatalf("allow %q: %v", key, err)
	}
	return r
}

// TestRateLimitPGGCRA runs on real time against the database clock, so it
// checks ranges rather than exact durations.
func TestRateLimitPGGCRA(t *testing.T) {
	db := open(t, testdb.Postgres(t))
	rl := db.RateLimiter()
	lim := ratelimit.Limit{Count: 3, Period: 2 * time.Second} // T = 666.666ms
	T := lim.Interval()

	for i := range 3 {
		r := pgAllow(t, rl, "k", lim)
		if !r.Allowed || r.Limit != 3 || r.Remaining != 2-i || r.RetryAfter != 0 {
			t.Fatalf("burst request %d: got %+v, want allowed with Remaining %d", i+1, r, 2-i)
		}
		if want := time.Duration(i+1) * T; r.ResetAfter > want || r.ResetAfter < want-200*time.Millisecond {
			t.Fatalf("burst request %d: got ResetAfter %v, want just under %v", i+1, r.ResetAfter, want)
		}
	}
	r := pgAllow(t, rl, "k", lim)
	if r.Allowed || r.Remaining != 0 || r.RetryAfter <= 0 || r.RetryAfter > T {
		t.Fatalf("request 4: got %+v, want denied with 0 < RetryAfter ≤ %v", r, T)
	}
	if other := pgAllow(t, rl, "other", lim); !other.Allowed || other.Remaining != 2 {
		t.Fatalf("independent key: got %+v, want allowed with Remaining 2", other)
	}

	// Waiting exactly RetryAfter suffices.
	time.Sleep(r.RetryAfter)
	if r := pgAllow(t, rl, "k", lim); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("retry after exactly RetryAfter: got %+v, want allowed with Remaining 0", r)
	}
	r = pgAllow(t, rl, "k", lim)
	if r.Allowed || r.RetryAfter <= T-200*time.Millisecond || r.RetryAfter > T {
		t.Fatalf("right after: got %+v, want denied with RetryAfter close to %v", r, T)
	}

	// Waiting RetryAfter rounded up to whole seconds, as Retry-After says,
	// suffices too, and without a doubled burst: only the intervals that
	// elapsed came back.
	time.Sleep(r.RetryAfter.Truncate(time.Second) + time.Second)
	var got []bool
	for range 3 {
		got = append(got, pgAllow(t, rl, "k", lim).Allowed)
	}
	// A second allow would need the sleep to overshoot by 333ms; a third,
	// a doubled burst, never.
	if !got[0] || got[2] {
		t.Fatalf("after sleeping 1s: got allowed %v, want [true false false] (1s refills one 666ms interval)", got)
	}
}

// TestRateLimitPGTwoProcesses shares one limit between two pools, as two
// server processes on one database would.
func TestRateLimitPGTwoProcesses(t *testing.T) {
	url := testdb.Postgres(t)
	a := open(t, url)
	b, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open second handle: %v", err)
	}
	t.Cleanup(func() { b.Close() })

	lim := ratelimit.Limit{Count: 100, Period: time.Hour}
	var allowed, denied atomic.Int64
	var wg sync.WaitGroup
	for i := range 16 {
		rl := a.RateLimiter()
		if i%2 == 1 {
			rl = b.RateLimiter()
		}
		wg.Go(func() {
			for range 20 {
				r, err := rl.Allow(context.Background(), "team:shared", lim)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					allowed.Add(1)
				} else {
					denied.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 100 || denied.Load() != 220 {
		t.Fatalf("got %d allowed and %d denied of 320, want 100 and 220", allowed.Load(), denied.Load())
	}
}

func TestRateLimitPGSweep(t *testing.T) {
	db := open(t, testdb.Postgres(t))
	rl := db.RateLimiter()
	ctx := context.Background()
	pgAllow(t, rl, "live", ratelimit.Limit{Count: 1, Period: time.Hour})
	pgAllow(t, rl, "done", ratelimit.Limit{Count: 1, Period: time.Millisecond})
	time.Sleep(5 * time.Millisecond)
	if err := rl.Sweep(ctx); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	var keys []string
	if err := db.Bun().NewRaw("SELECT key FROM rate_limits ORDER BY key").Scan(ctx, &keys); err != nil {
		t.Fatalf("list keys: %v", err)
	}
	if fmt.Sprint(keys) != "[live]" {
		t.Fatalf("after sweep: got keys %v, want [live]", keys)
	}
	// A swept key starts over with a full bucket.
	if r := pgAllow(t, rl, "done", ratelimit.Limit{Count: 2, Period: time.Hour}); !r.Allowed || r.Remaining != 1 {
		t.Fatalf("swept key: got %+v, want allowed with Remaining 1", r)
	}
}

func TestRateLimitPGRejects(t *testing.T) {
	ctx := context.Background()
	sq := open(t, testdb.SQLite(t))
	if _, err := sq.RateLimiter().Allow(ctx, "k", ratelimit.Limit{Count: 1, Period: time.Second}); err == nil {
		t.Fatal("SQLite: got nil error, want one (use ratelimit.Memory)")
	}
	pg := open(t, testdb.Postgres(t))
	if _, err := pg.RateLimiter().Allow(ctx, "k", ratelimit.Limit{}); err == nil {
		t.Fatal("zero limit: got nil error, want one")
	}
	// Keys are data, not SQL.
	key := `it's "quoted" ?0 $1 \`
	if r := pgAllow(t, pg.RateLimiter(), key, ratelimit.Limit{Count: 1, Period: time.Hour}); !r.Allowed {
		t.Fatalf("odd key first request: got %+v, want allowed", r)
	}
	if r := pgAllow(t, pg.RateLimiter(), key, ratelimit.Limit{Count: 1, Period: time.Hour}); r.Allowed {
		t.Fatalf("odd key second request: got %+v, want denied", r)
	}
}

// TestRateLimitPGAllowN: n requests are admitted together or not at all,
// and leave the same bucket as n single requests.
func TestRateLimitPGAllowN(t *testing.T) {
	ctx := context.Background()
	rl := open(t, testdb.Postgres(t)).RateLimiter()
	lim := ratelimit.Limit{Count: 10, Period: time.Hour}
	r, err := rl.AllowN(ctx, "k", lim, 6)
	if err != nil || !r.Allowed || r.Remaining != 4 {
		t.Fatalf("AllowN(6) of 10: got %+v, %v; want allowed, 4 remaining", r, err)
	}
	if r, err = rl.AllowN(ctx, "k", lim, 5); err != nil || r.Allowed {
		t.Fatalf("AllowN(5) with 4 left: got %+v, %v; want refused", r, err)
	}
	for i := range 4 {
		if r := pgAllow(t, rl, "k", lim); !r.Allowed || r.Remaining != 3-i {
			t.Fatalf("single request %d after the batch: got %+v, want allowed, %d remaining", i, r, 3-i)
		}
	}
	if r := pgAllow(t, rl, "k", lim); r.Allowed {
		t.Fatalf("11th request: got %+v, want refused", r)
	}
	if _, err := rl.AllowN(ctx, "k", lim, 0); err == nil {
		t.Fatal("AllowN(0): got nil error, want one")
	}
}

func BenchmarkPGAllow(b *testing.B) {
	db, err := store.Open(context.Background(), testdb.Postgres(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	rl := db.RateLimiter()
	lim := ratelimit.Limit{Count: 1000, Period: time.Hour}
	ctx := context.Background()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := rl.Allow(ctx, fmt.Sprintf("key-%d", n.Add(1)%256), lim); err != nil {
				b.Fatal(err)
			}
		}
	})
}
