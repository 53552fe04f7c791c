package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/ratelimit"
)

// counting is a shared limiter that counts the calls that reach it.
type counting struct {
	*ratelimit.Memory
	calls int
}

func (c *counting) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	c.calls++
	return c.Memory.Allow(ctx, key, l)
}

func (c *counting) AllowN(ctx context.Context, key string, l ratelimit.Limit, n int) (ratelimit.Result, error) {
	c.calls++
	return c.Memory.AllowN(ctx, key, l, n)
}

// TestLeasingBusyKey: a busy key far from its limit reaches the shared
// limiter about once per LeaseSize requests; Remaining counts down by one
// per request all the same.
func TestLeasingBusyKey(t *testing.T) {
	c := newClock()
	inner := &counting{Memory: ratelimit.NewMemory(c.Now)}
	g := ratelimit.NewLeasing(inner, c.Now)
	lim := ratelimit.Limit{Count: 10 * ratelimit.MinLeaseCount, Period: time.Hour}
	const n = 10 * ratelimit.LeaseSize
	for i := range n {
		r := allow(t, g, "k", lim)
		if !r.Allowed || r.Remaining != lim.Count-1-i {
			t.Fatalf("request %d: got allowed=%v remaining %d, want allowed and %d", i, r.Allowed, r.Remaining, lim.Count-1-i)
		}
	}
	if inner.calls > n/ratelimit.LeaseSize+2 {
		t.Errorf("shared limiter calls for %d requests: got %d, want about %d", n, inner.calls, n/ratelimit.LeaseSize)
	}
}

// TestLeasingNearAndSmallLimits: near the limit, and for small limits,
// every request reaches the shared limiter, and the limit is exact: the
// (Count+1)th request of a burst is refused with a Retry-After.
func TestLeasingNearAndSmallLimits(t *testing.T) {
	for _, count := range []int{5, ratelimit.MinLeaseCount} {
		c := newClock()
		inner := &counting{Memory: ratelimit.NewMemory(c.Now)}
		g := ratelimit.NewLeasing(inner, c.Now)
		lim := ratelimit.Limit{Count: count, Period: time.Hour}
		for i := range count {
			if r := allow(t, g, "k", lim); !r.Allowed {
				t.Fatalf("limit %d: request %d refused", count, i)
			}
		}
		r := allow(t, g, "k", lim)
		if r.Allowed || r.RetryAfter <= 0 {
			t.Fatalf("limit %d: request %d: got allowed=%v retry after %v, want refused with a Retry-After", count, count+1, r.Allowed, r.RetryAfter)
		}
		// Past half the bucket no call is leased: the second half's
		// requests each reached the shared limiter.
		if count == ratelimit.MinLeaseCount && inner.calls < count/2 {
			t.Errorf("limit %d: %d shared calls, want at least one per request of the second half (%d)", count, inner.calls, count/2)
		}
		if count == 5 && inner.calls != count+1 {
			t.Errorf("limit 5: %d shared calls, want one per request (6)", inner.calls)
		}
	}
}

// TestLeasingNeverOverAdmits: two processes leasing from one shared bucket
// together admit exactly the limit in a burst, and a lease unused past
// LeaseTTL is not served.
func TestLeasingNeverOverAdmits(t *testing.T) {
	c := newClock()
	shared := ratelimit.NewMemory(c.Now)
	a, b := ratelimit.NewLeasing(shared, c.Now), ratelimit.NewLeasing(shared, c.Now)
	lim := ratelimit.Limit{Count: ratelimit.MinLeaseCount, Period: time.Hour}
	admitted := 0
	for i := range 3 * lim.Count {
		g := a
		if i%3 == 0 {
			g = b
		}
		if allow(t, g, "k", lim).Allowed {
			admitted++
		}
	}
	if admitted > lim.Count || admitted < lim.Count-2*ratelimit.LeaseSize {
		t.Errorf("admitted by two processes: got %d, want at most the limit %d (and at most two leases short)", admitted, lim.Count)
	}

	// A fresh key: a lease taken, then left unused past its TTL.
	c2 := newClock()
	inner := &counting{Memory: ratelimit.NewMemory(c2.Now)}
	g := ratelimit.NewLeasing(inner, c2.Now)
	big := ratelimit.Limit{Count: 10 * ratelimit.MinLeaseCount, Period: time.Hour}
	allow(t, g, "k", big)
	allow(t, g, "k", big) // takes a lease
	calls := inner.calls
	c2.Advance(ratelimit.LeaseTTL)
	allow(t, g, "k", big)
	if inner.calls == calls {
		t.Errorf("a request after the lease expired was served from it")
	}
}
