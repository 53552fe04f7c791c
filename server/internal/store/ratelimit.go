package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cstar-chat/cstar/server/internal/ratelimit"
)

// PGLimiter is a GCRA limiter whose buckets live in PostgreSQL's rate_limits
// table, so that every server process sharing the database enforces one
// limit. As a ratelimit.Lender it also lends a busy key's bucket to the one
// process that uses it (ratelimit.Holding).
type PGLimiter struct {
	db *DB
}

// RateLimiter returns the shared limiter. It works only on PostgreSQL; a
// single SQLite process uses ratelimit.Memory instead.
func (db *DB) RateLimiter() *PGLimiter { return &PGLimiter{db: db} }

// Allow records a request under key and tells whether it may proceed.
func (p *PGLimiter) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	return p.AllowN(ctx, key, l, 1)
}

// AllowN admits n requests under key at once, or none. It never holds a
// bucket; one held by a process is decided once it comes back.
func (p *PGLimiter) AllowN(ctx context.Context, key string, l ratelimit.Limit, n int) (ratelimit.Result, error) {
	if n < 1 {
		return ratelimit.Result{}, fmt.Errorf("store: rate limit AllowN of %d requests", n)
	}
	for {
		r, err := p.Sync(ctx, key, l, ratelimit.Sync{N: n, SharedFor: ratelimit.SharedFor})
		if err != nil {
			return ratelimit.Result{}, err
		}
		if r.Wait == 0 {
			return l.Result(r.Allowed, time.Duration(r.TAT-r.Now)*time.Microsecond), nil
		}
		t := time.NewTimer(r.Wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ratelimit.Result{}, fmt.Errorf("store: rate limit %q held by another process: %w", key, ctx.Err())
		}
	}
}

// Sync makes one decision in the stored function cstar_rate_limit
// (migration 0006): one short call whose inner statements keep their plans,
// at the database's clock. The row lock serialises concurrent calls for a
// key, and every process reads the one database clock, so servers with
// skewed clocks still agree.
func (p *PGLimiter) Sync(ctx context.Context, key string, l ratelimit.Limit, s ratelimit.Sync) (ratelimit.Synced, error) {
	if err := l.Validate(); err != nil {
		return ratelimit.Synced{}, err
	}
	if s.N < 0 {
		return ratelimit.Synced{}, fmt.Errorf("store: rate limit of %d requests", s.N)
	}
	if p.db.dialect != Postgres {
		return ratelimit.Synced{}, errors.New("store: the shared rate limiter needs PostgreSQL")
	}
	var (
		r    ratelimit.Synced
		wait int64
	)
	err := p.db.bun.NewRaw("SELECT * FROM cstar_rate_limit(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		key, s.Holder, s.Epoch, s.TAT, s.N, l.Interval().Microseconds(), l.Window().Microseconds(),
		s.Hold, s.Reserve, s.TTL.Microseconds(), s.SharedFor.Microseconds()).
		Scan(ctx, &r.Allowed, &r.TAT, &r.Now, &r.Epoch, &r.Cap, &wait)
	if err != nil {
		return ratelimit.Synced{}, fmt.Errorf("store: rate limit %q: %w", key, mapErr(err))
	}
	r.Wait = time.Duration(wait) * time.Microsecond
	return r, nil
}

// Sweep deletes the buckets that are full again, which is the same as never
// having seen their keys (held ones too: their reserve is spent by time, and
// a holder giving it back then changes nothing); run it periodically to
// bound the table.
func (p *PGLimiter) Sweep(ctx context.Context) error {
	if p.db.dialect != Postgres {
		return nil
	}
	_, err := p.db.bun.ExecContext(ctx, `DELETE FROM rate_limits
		WHERE tat_us <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint`)
	if err != nil {
		return fmt.Errorf("store: sweep rate limits: %w", mapErr(err))
	}
	return nil
}
