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

// allowSQL decides and records one request in a single statement. The row
// lock that ON CONFLICT DO UPDATE takes serialises concurrent requests for a
// key, and every process reads the one database clock, so servers with skewed
// clocks still agree. EXCLUDED.tat_us carries now+T; the update recovers now
// from it. Arguments: key, the step (T, or n×T for n requests at once) and
// the window, in microseconds.
const allowSQL = `WITH clock AS (
	SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us
), up AS (
	INSERT INTO rate_limits AS r (key, tat_us, allowed)
	SELECT ?0, clock.now_us + ?1, ?1 <= ?2 FROM clock
	ON CONFLICT (key) DO UPDATE SET
		tat_us = CASE
			WHEN greatest(r.tat_us, EXCLUDED.tat_us - ?1) + ?1 - (EXCLUDED.tat_us - ?1) <= ?2
			THEN greatest(r.tat_us, EXCLUDED.tat_us - ?1) + ?1
			ELSE r.tat_us END,
		allowed = greatest(r.tat_us, EXCLUDED.tat_us - ?1) + ?1 - (EXCLUDED.tat_us - ?1) <= ?2
	RETURNING r.tat_us, r.allowed
)
SELECT up.tat_us, up.allowed, clock.now_us FROM up, clock`

// Allow records a request under key and tells whether it may proceed.
func (p *PGLimiter) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	return p.AllowN(ctx, key, l, 1)
}

// AllowN admits n requests under key at once, or none: the same statement
// with n intervals as the step.
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
	err := p.db.bun.NewRaw(allowSQL, key, int64(n)*l.Interval().Microseconds(), l.Window().Microseconds()).
		Scan(ctx, &tat, &allowed, &now)
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
