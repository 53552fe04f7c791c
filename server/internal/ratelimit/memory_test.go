package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/ratelimit"
)

// clock is a fake time source that tests advance by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func allow(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit) ratelimit.Result {
	t.Helper()
	r, err := l.Allow(context.Background(), key, lim)
	if err != nil {
		t.Fatalf("allow %q: %v", key, err)
	}
	return r
}

func TestMemoryGCRABurstThenSteady(t *testing.T) {
	c := newClock()
	m := ratelimit.NewMemory(c.Now)
	lim := ratelimit.Limit{Count: 10, Period: 10 * time.Second} // T = 1s

	for i := range 10 {
		r := allow(t, m, "k", lim)
		want := ratelimit.Result{Allowed: true, Limit: 10, Remaining: 9 - i, ResetAfter: time.Duration(i+1) * time.Second}
		if r != want {
			t.Fatalf("request %d: got %+v, want %+v", i+1, r, want)
		}
	}
	r := allow(t, m, "k", lim)
	want := ratelimit.Result{Allowed: false, Limit: 10, Remaining: 0, ResetAfter: 10 * time.Second, RetryAfter: time.Second}
	if r != want {
		t.Fatalf("request 11: got %+v, want %+v", r, want)
	}

	c.Advance(time.Second - time.Nanosecond)
	if r := allow(t, m, "k", lim); r.Allowed || r.RetryAfter != time.Nanosecond {
		t.Fatalf("1ns early: got %+v, want denied with RetryAfter 1ns", r)
	}
	c.Advance(time.Nanosecond)
	r = allow(t, m, "k", lim)
	want = ratelimit.Result{Allowed: true, Limit: 10, Remaining: 0, ResetAfter: 10 * time.Second}
	if r != want {
		t.Fatalf("after T: got %+v, want %+v", r, want)
	}
	if r := allow(t, m, "k", lim); r.Allowed {
		t.Fatalf("second request within T: got %+v, want denied", r)
	}

	// Half a period of rest refills half the bucket.
	c.Advance(5 * time.Second)
	r = allow(t, m, "k", lim)
	want = ratelimit.Result{Allowed: true, Limit: 10, Remaining: 4, ResetAfter: 6 * time.Second}
	if r != want {
		t.Fatalf("after 5s rest: got %+v, want %+v", r, want)
	}

	// A full period of rest refills it completely.
	c.Advance(10 * time.Second)
	if r := allow(t, m, "k", lim); r.Remaining != 9 || r.ResetAfter != time.Second {
		t.Fatalf("after full rest: got %+v, want Remaining 9, ResetAfter 1s", r)
	}
}

// TestMemoryNoDoubledBurst checks the flaw of fixed windows: spending the
// whole budget just before a window edge and again just after it.
func TestMemoryNoDoubledBurst(t *testing.T) {
	c := newClock()
	m := ratelimit.NewMemory(c.Now)
	lim := ratelimit.Limit{Count: 100, Period: time.Hour}

	c.Advance(59*time.Minute + 59*time.Second)
	allowed := 0
	for range 100 {
		if allow(t, m, "k", lim).Allowed {
			allowed++
		}
	}
	c.Advance(2 * time.Second) // past the top of the hour
	for range 100 {
		if allow(t, m, "k", lim).Allowed {
			allowed++
		}
	}
	if allowed != 100 {
		t.Fatalf("got %d allowed across the edge, want 100 (2s of rest refill less than one 36s interval)", allowed)
	}
}

func TestMemoryRetryAfterRoundedUp(t *testing.T) {
	limits := []ratelimit.Limit{
		{Count: 1000, Period: time.Hour},
		{Count: 3, Period: 2 * time.Second},
		{Count: 7, Period: time.Minute},
		{Count: 1, Period: 1500 * time.Millisecond},
	}
	for _, lim := range limits {
		t.Run(fmt.Sprintf("%d per %v", lim.Count, lim.Period), func(t *testing.T) {
			c := newClock()
			m := ratelimit.NewMemory(c.Now)
			for i := range lim.Count {
				if r := allow(t, m, "k", lim); !r.Allowed {
					t.Fatalf("burst request %d denied: %+v", i+1, r)
				}
				c.Advance(123 * time.Microsecond) // a little jitter between requests
			}
			for range 5 {
				r := allow(t, m, "k", lim)
				if r.Allowed || r.RetryAfter <= 0 || r.Remaining != 0 {
					t.Fatalf("over the limit: got %+v, want denied with RetryAfter > 0", r)
				}
				// What the HTTP layer sends as Retry-After.
				c.Advance(r.RetryAfter.Truncate(time.Second) + time.Second)
				if r := allow(t, m, "k", lim); !r.Allowed {
					t.Fatalf("retry after the advertised wait: got %+v, want allowed", r)
				}
				// And exactly RetryAfter suffices too.
				r = allow(t, m, "k", lim)
				if r.Allowed {
					continue // a full second refilled more than one request
				}
				c.Advance(r.RetryAfter)
				if r := allow(t, m, "k", lim); !r.Allowed {
					t.Fatalf("retry after exactly RetryAfter: got %+v, want allowed", r)
				}
			}
		})
	}
}

func TestMemoryIndependentKeys(t *testing.T) {
	c := newClock()
	m := ratelimit.NewMemory(c.Now)
	lim := ratelimit.Limit{Count: 2, Period: time.Minute}
	for _, key := range []string{"a", "b"} {
		for i := range 2 {
			if r := allow(t, m, key, lim); !r.Allowed {
				t.Fatalf("key %s request %d: got %+v, want allowed", key, i+1, r)
			}
		}
		if r := allow(t, m, key, lim); r.Allowed {
			t.Fatalf("key %s request 3: got %+v, want denied", key, r)
		}
	}
	if r := allow(t, m, "c", lim); !r.Allowed || r.Remaining != 1 {
		t.Fatalf("fresh key: got %+v, want allowed with Remaining 1", r)
	}
}

func TestMemoryInvalidLimit(t *testing.T) {
	m := ratelimit.NewMemory(nil)
	for _, lim := range []ratelimit.Limit{{0, time.Second}, {-1, time.Second}, {10, 0}, {10, 5 * time.Microsecond}} {
		if _, err := m.Allow(context.Background(), "k", lim); err == nil {
			t.Errorf("limit %+v: got nil error, want one", lim)
		}
	}
}

func TestMemorySweep(t *testing.T) {
	c := newClock()
	m := ratelimit.NewMemory(c.Now)
	lim := ratelimit.Limit{Count: 5, Period: time.Second}
	for i := range 100 {
		allow(t, m, fmt.Sprint(i), lim)
	}
	if got := m.Len(); got != 100 {
		t.Fatalf("before sweep: got %d keys, want 100", got)
	}
	m.Sweep()
	if got := m.Len(); got != 100 {
		t.Fatalf("sweep of live buckets: got %d keys, want 100", got)
	}
	c.Advance(200 * time.Millisecond)
	m.Sweep()
	if got := m.Len(); got != 0 {
		t.Fatalf("sweep of full buckets: got %d keys, want 0", got)
	}

	// Without explicit sweeps, memory stays bounded by the keys active
	// within one period.
	for i := range 100_000 {
		allow(t, m, fmt.Sprint(i), lim)
		c.Advance(time.Millisecond)
	}
	if got := m.Len(); got > 4096 {
		t.Fatalf("after 100k one-off keys: got %d keys remembered, want ≤ 4096", got)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	c := newClock()
	m := ratelimit.NewMemory(c.Now)
	lim := ratelimit.Limit{Count: 500, Period: time.Hour}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 100 {
				r, err := m.Allow(context.Background(), "shared", lim)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					allowed.Add(1)
				}
				m.Allow(context.Background(), "other", lim)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 500 {
		t.Fatalf("got %d allowed of 1600 concurrent requests, want 500", got)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := ratelimit.NewMemory(nil)
	lim := ratelimit.Limit{Count: 1000, Period: time.Hour}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := m.Allow(ctx, keys[i%len(keys)], lim); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
