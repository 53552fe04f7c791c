package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Limit allows Count requests per Period: a full bucket admits Count requests
// back to back, then one every Period/Count.
type Limit struct {
	Count  int
	Period time.Duration
}

// Result is the outcome of one Allow call, with what the HTTP layer needs for
// its X-RateLimit-* and Retry-After headers.
type Result struct {
	Allowed    bool
	Limit      int           // Limit.Count
	Remaining  int           // requests that could be made right now, ≥ 0
	ResetAfter time.Duration // until the bucket is completely full again
	RetryAfter time.Duration // when denied, until the next request will be allowed; 0 when allowed
}

// Limiter decides whether the request identified by key may proceed under l.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}

// BatchLimiter also admits n requests at once, or none; the Result then
// describes the bucket after all n.
type BatchLimiter interface {
	Limiter
	AllowN(ctx context.Context, key string, l Limit, n int) (Result, error)
}

// Interval returns the emission interval T = Period/Count, truncated to whole
// microseconds so that the in-process and the PostgreSQL limiters, which
// stores microseconds, compute the same answers.
func (l Limit) Interval() time.Duration {
	if l.Count <= 0 {
		return 0
	}
	return (l.Period / time.Duration(l.Count)).Truncate(time.Microsecond)
}

// Window returns Count×Interval, the span a full burst occupies. It equals
// Period unless the truncation of Interval shaved a few microseconds off, and
// using it instead of Period keeps a burst at exactly Count requests.
func (l Limit) Window() time.Duration { return time.Duration(l.Count) * l.Interval() }

// Validate reports a limit that GCRA cannot apply.
func (l Limit) Validate() error {
	if l.Count <= 0 || l.Interval() <= 0 {
		return fmt.Errorf("ratelimit: invalid limit %d per %v (want Count ≥ 1 and Period/Count ≥ 1µs)", l.Count, l.Period)
	}
	return nil
}

// decide applies GCRA to a bucket whose theoretical arrival time is tat, at
// now; all three values share one unit and origin. A request is allowed iff,
// after it, the bucket's debt max(tat, now)+T-now fits in the window.
func decide(tat, now int64, interval, window int64) (newTAT int64, allowed bool) {
	base := max(tat, now)
	if base+interval-now > window {
		return tat, false
	}
	return base + interval, true
}

// Result describes the bucket after a decision, given whether the request
// was allowed and its debt tatAfter-now (negative debt counts as none).
func (l Limit) Result(allowed bool, debt time.Duration) Result {
	debt = max(debt, 0)
	t, w := l.Interval(), l.Window()
	r := Result{Allowed: allowed, Limit: l.Count, ResetAfter: debt}
	if t > 0 {
		r.Remaining = max(int((w-debt)/t), 0)
	}
	if !allowed {
		r.Remaining = 0
		// Denied implies debt+T > window, so this is strictly positive; a
		// request exactly RetryAfter later brings the debt to the window.
		r.RetryAfter = max(debt+t-w, time.Nanosecond)
	}
	return r
}
