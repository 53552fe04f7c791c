package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cstar-chat/cstar/server/internal/ratelimit"
)

// PGLimiter is a GCRA limiter whose buckets live in PostgreSQL's rate_limits
// table, so that every server process sharing the database enforces one limit.
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

// AllowN admits n requests under key at once, or none: n intervals as the
// step. The decision is the stored function cstar_rate_allow (migration
// 0006), one short call whose inner statements keep their plans, at the
// database's clock.
func (p *PGLimiter) AllowN(ctx context.Context, key string, l ratelimit.Limit, n int) (ratelimit.Result, error) {
	if err := l.Validate(); err != nil {
		return ratelimit.Result{}, err
	}
	if n < 1 {
		return ratelimit.Result{}, fmt.Errorf("store: rate limit AllowN of %d requests", n)
	}
	if p.db.dialect != Postgres {
		return ratelimit.Result{}, errors.New("store: the shared rate limiter needs PostgreSQL")
	}
	var (
		tat, now int64
		allowed  bool
	)
	err := p.db.bun.NewRaw("SELECT * FROM cstar_rate_allow(?, ?, ?)",
		key, int64(n)*l.Interval().Microseconds(), l.Window().Microseconds()).Scan(ctx, &allowed, &tat, &now)
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("store: rate limit %q: %w", key, mapErr(err))
	}
	return l.Result(allowed, time.Duration(tat-now)*time.Microsecond), nil
}

// Sweep deletes the buckets that are full again, which is the same as never
// having seen their keys; run it periodically to bound the table.
func (p *PGLimiter) Sweep(ctx context.Context) error {
	if p.db.dialect != Postgres {
		return nil
	}
	_, err := p.db.bun.ExecContext(ctx, `DELETE FROM rate_limits
		WHERE tat_us <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint`)
	if err != nil {
		return fmt.Errorf("store: sweep rate limits: %w", err)
	}
	return nil
}
