package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Leasing spares a shared limiter (PostgreSQL: one statement on a hot row
// per request) most of its calls for busy keys that are far from their
// limit. When a key's bucket has more than half of its requests left, the
// next call takes LeaseSize of them at once from the shared bucket and
// serves the rest of them from memory for at most LeaseTTL. Leased requests
// are consumed from the shared bucket when they are taken, so no process
// can ever admit more than the limit; a lease that runs out of time unused
// only spends its requests early. Near the limit, and for limits below
// MinLeaseCount, every request goes to the shared limiter, so the exact
// limit, Remaining and Retry-After are as without leasing.
type Leasing struct {
	inner BatchLimiter
	now   func() time.Time

	mu        sync.Mutex
	leases    map[string]*lease
	nextSweep int
}

// Leasing's tuning: small enough that an unused lease wastes little of any
// limit it applies to, large enough to take most calls off the database.
const (
	LeaseSize     = 16
	LeaseTTL      = time.Second
	MinLeaseCount = 100 * LeaseSize
)

type lease struct {
	limit     Limit
	left      int       // requests still to serve from this lease
	remaining int       // the shared bucket's Remaining after the lease was taken
	reset     time.Time // when the shared bucket is full again, as of the lease
	expires   time.Time
}

// NewLeasing wraps inner; now is time.Now when nil.
func NewLeasing(inner BatchLimiter, now func() time.Time) *Leasing {
	if now == nil {
		now = time.Now
	}
	return &Leasing{inner: inner, now: now, leases: map[string]*lease{}, nextSweep: minSweep}
}

// Allow records a request under key and tells whether it may proceed.
func (g *Leasing) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	now := g.now()
	g.mu.Lock()
	le := g.leases[key]
	if le != nil && le.limit == l && le.left > 0 && now.Before(le.expires) {
		le.left--
		res := Result{Allowed: true, Limit: l.Count, Remaining: le.remaining + le.left,
			ResetAfter: max(le.reset.Sub(now), 0)}
		g.mu.Unlock()
		return res, nil
	}
	// Lease only when the last answer left more than half the bucket.
	wantLease := le != nil && le.limit == l && l.Count >= MinLeaseCount && le.remaining+le.left > l.Count/2
	g.mu.Unlock()

	if wantLease {
		res, err := g.inner.AllowN(ctx, key, l, LeaseSize)
		if err != nil {
			return Result{}, err
		}
		if res.Allowed {
			g.store(key, &lease{limit: l, left: LeaseSize - 1, remaining: res.Remaining,
				reset: now.Add(res.ResetAfter), expires: now.Add(LeaseTTL)}, now)
			res.Remaining += LeaseSize - 1
			return res, nil
		}
	}
	res, err := g.inner.Allow(ctx, key, l)
	if err != nil {
		return Result{}, err
	}
	// Remember the answer (an empty lease) so that the next call can decide.
	g.store(key, &lease{limit: l, remaining: res.Remaining, reset: now.Add(res.ResetAfter), expires: now.Add(LeaseTTL)}, now)
	return res, nil
}

// store keeps le for key, forgetting expired leases whenever the map has
// doubled since the last sweep.
func (g *Leasing) store(key string, le *lease, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.leases[key] = le
	if len(g.leases) >= g.nextSweep {
		for k, old := range g.leases {
			if !now.Before(old.expires) {
				delete(g.leases, k)
			}
		}
		g.nextSweep = max(2*len(g.leases), minSweep)
	}
}
