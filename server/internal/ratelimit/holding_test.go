package ratelimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/ratelimit"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// Holding's lender is PostgreSQL, as in production: these tests run on a
// real database with real time.

// process is one server process: its own pool and its own Holding, whose
// calls to the lender are counted.
type process struct {
	db    *store.DB
	calls atomic.Int64
	*ratelimit.Holding
}

func (p *process) Sync(ctx context.Context, key string, l ratelimit.Limit, s ratelimit.Sync) (ratelimit.Synced, error) {
	p.calls.Add(1)
	return p.db.RateLimiter().Sync(ctx, key, l, s)
}

func newProcess(t *testing.T, url string) *process {
	t.Helper()
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	p := &process{db: db}
	p.Holding = ratelimit.NewHolding(p, slog.New(slog.DiscardHandler))
	return p
}

// TestHoldingBusyKey: a key used by one process is decided in memory for
// all but about one request in Reserve, and the answers are exactly the
// database's: Remaining counts down by one per request, the (Count+1)th is
// refused with a Retry-After of at most one interval.
func TestHoldingBusyKey(t *testing.T) {
	p := newProcess(t, testdb.Postgres(t))
	for _, lim := range []ratelimit.Limit{{Count: 1000, Period: time.Hour}, {Count: 5, Period: time.Hour}} {
		key := fmt.Sprintf("busy-%d", lim.Count)
		p.calls.Store(0)
		for i := range lim.Count {
			r := allow(t, p, key, lim)
			if !r.Allowed || r.Remaining != lim.Count-1-i || r.RetryAfter != 0 {
				t.Fatalf("limit %d, request %d: got %+v, want allowed with Remaining %d", lim.Count, i+1, r, lim.Count-1-i)
			}
		}
		r := allow(t, p, key, lim)
		if r.Allowed || r.Remaining != 0 || r.RetryAfter <= 0 || r.RetryAfter > lim.Interval() {
			t.Fatalf("limit %d, request %d: got %+v, want refused with 0 < RetryAfter ≤ %v", lim.Count, lim.Count+1, r, lim.Interval())
		}
		// One call without a hold, then one per reserve; holds end every
		// HoldTTL less the margin, which a slow machine may reach.
		calls := p.calls.Load()
		if want := int64(lim.Count/ratelimit.Reserve(lim) + 10); calls > want {
			t.Errorf("limit %d: %d calls to the database for %d requests, want at most %d", lim.Count, calls, lim.Count+1, want)
		}
		if lim.Count == 1000 && calls < 2 {
			t.Errorf("limit 1000: %d calls to the database, want at least 2 (a hold is taken on the second request)", calls)
		}
	}
}

// TestHoldingIdleKey: a key whose requests come further apart than a hold
// lasts is never lent; each request is one call, and no hold has to be
// given back.
func TestHoldingIdleKey(t *testing.T) {
	p := newProcess(t, testdb.Postgres(t))
	lim := ratelimit.Limit{Count: 1000, Period: time.Hour}
	for i := range 3 {
		if i > 0 {
			time.Sleep(ratelimit.HoldTTL + 20*time.Millisecond)
		}
		if r := allow(t, p, "idle", lim); !r.Allowed || r.Remaining != 999-i {
			t.Fatalf("request %d: got %+v, want allowed with Remaining %d", i+1, r, 999-i)
		}
	}
	time.Sleep(ratelimit.HoldTTL)
	if got := p.calls.Load(); got != 3 {
		t.Fatalf("calls to the database: got %d, want 3 (one per request, no give-back)", got)
	}
}

// TestHoldingTwoProcesses: two processes hammering one key admit exactly
// its limit between them, whoever holds the bucket when.
func TestHoldingTwoProcesses(t *testing.T) {
	url := testdb.Postgres(t)
	a, b := newProcess(t, url), newProcess(t, url)
	for _, lim := range []ratelimit.Limit{{Count: 100, Period: time.Hour}, {Count: 1000, Period: time.Hour}} {
		key := fmt.Sprintf("shared-%d", lim.Count)
		var allowed, refused atomic.Int64
		// a holds the bucket when the others arrive.
		for range 2 {
			if allow(t, a, key, lim).Allowed {
				allowed.Add(1)
			}
		}
		var wg sync.WaitGroup
		per := lim.Count / 4
		for i := range 16 {
			p := a
			if i%2 == 1 {
				p = b
			}
			wg.Go(func() {
				for range per {
					r, err := p.Allow(context.Background(), key, lim)
					if err != nil {
						t.Error(err)
						return
					}
					if r.Allowed {
						allowed.Add(1)
					} else {
						refused.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if total := 16*per + 2; allowed.Load() != int64(lim.Count) || refused.Load() != int64(total-lim.Count) {
			t.Fatalf("limit %d: got %d allowed and %d refused of %d, want %d and %d",
				lim.Count, allowed.Load(), refused.Load(), total, lim.Count, total-lim.Count)
		}
	}
}

// TestHoldingHandOver: a process that needs a bucket another holds waits
// for it, and finds exactly what the holder used (its reserve given back);
// from then on the key is shared, decided in the database per request.
func TestHoldingHandOver(t *testing.T) {
	url := testdb.Postgres(t)
	a, b := newProcess(t, url), newProcess(t, url)
	lim := ratelimit.Limit{Count: 1000, Period: time.Hour}
	for range 10 {
		allow(t, a, "k", lim)
	}
	start := time.Now()
	r := allow(t, b, "k", lim)
	if waited := time.Since(start); waited > ratelimit.HoldTTL+100*time.Millisecond {
		t.Errorf("waited %v for the hold to come back, want at most about %v", waited, ratelimit.HoldTTL)
	}
	if !r.Allowed || r.Remaining != lim.Count-11 {
		t.Fatalf("other process after 10 requests: got %+v, want allowed with Remaining %d", r, lim.Count-11)
	}
	// Shared now: even several requests in a row from one process are each
	// a call, so the other never waits, and the count stays exact.
	a.calls.Store(0)
	b.calls.Store(0)
	start = time.Now()
	for i := range 6 {
		p := a
		if i >= 3 {
			p = b
		}
		if r := allow(t, p, "k", lim); !r.Allowed || r.Remaining != lim.Count-12-i {
			t.Fatalf("shared request %d: got %+v, want allowed with Remaining %d", i+1, r, lim.Count-12-i)
		}
	}
	if got := a.calls.Load() + b.calls.Load(); got != 6 {
		t.Errorf("calls to the database for 6 shared requests: got %d, want 6", got)
	}
	if took := time.Since(start); took > ratelimit.HoldTTL/2 {
		t.Errorf("6 shared requests took %v, want no wait for a hold", took)
	}
}

// TestHoldingDeadHolder: a process that stops while it holds a bucket (its
// pool closed, so it cannot give it back) costs the key at most its
// reserve, and never lets the other admit more than the limit.
func TestHoldingDeadHolder(t *testing.T) {
	url := testdb.Postgres(t)
	a, b := newProcess(t, url), newProcess(t, url)
	lim := ratelimit.Limit{Count: 1000, Period: time.Hour}
	const used = 5
	for range used {
		allow(t, a, "k", lim)
	}
	a.db.Close()
	time.Sleep(ratelimit.HoldTTL)
	admitted := 0
	for range lim.Count {
		if allow(t, b, "k", lim).Allowed {
			admitted++
		}
	}
	if admitted > lim.Count-used || admitted < lim.Count-used-ratelimit.Reserve(lim) {
		t.Fatalf("admitted after the holder died: got %d, want between %d and %d",
			admitted, lim.Count-used-ratelimit.Reserve(lim), lim.Count-used)
	}
}

// TestHoldingEndsOnTime: a holder decides nothing from memory once its
// hold's time is up, even with requests left in its reserve: another
// process may have the bucket by then. Its pool is closed here, so the
// request has to fail rather than be answered from the old state.
func TestHoldingEndsOnTime(t *testing.T) {
	p := newProcess(t, testdb.Postgres(t))
	lim := ratelimit.Limit{Count: 1000, Period: time.Hour}
	allow(t, p, "k", lim)
	allow(t, p, "k", lim) // takes a hold with a reserve of 15
	if r := allow(t, p, "k", lim); !r.Allowed {
		t.Fatalf("third request: got %+v, want allowed", r)
	}
	p.db.Close()
	time.Sleep(ratelimit.HoldTTL)
	if r, err := p.Allow(context.Background(), "k", lim); err == nil {
		t.Fatalf("request after the hold ended, database closed: got %+v, want an error", r)
	}
}

// TestHoldingForgetsIdleKeys: memory stays bounded by the keys used within
// a hold's time, not by every key ever seen.
func TestHoldingForgetsIdleKeys(t *testing.T) {
	p := newProcess(t, testdb.Postgres(t))
	lim := ratelimit.Limit{Count: 10, Period: time.Hour}
	const keys = 3000
	for i := range keys {
		if i == keys/2 {
			time.Sleep(ratelimit.HoldTTL + 50*time.Millisecond)
		}
		allow(t, p, fmt.Sprint("one-off-", i), lim)
	}
	if got := p.Len(); got > 2048 {
		t.Fatalf("after %d one-off keys: got %d remembered, want at most 2048", keys, got)
	}
}
