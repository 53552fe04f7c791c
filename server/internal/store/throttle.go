package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/identity"
)

// ThrottleCounter keeps the sign-in throttles' failure counts in the
// signin_failures table, so that every server process sharing the database
// counts together (identity.Counter). Keys are stored as their SHA-256.
// Times come from the callers' clocks, which the processes are expected to
// keep in step (NTP); a skew shifts a block by as much.
type ThrottleCounter struct {
	db *DB
}

// ThrottleCounter returns the shared sign-in throttle counter.
func (db *DB) ThrottleCounter() *ThrottleCounter { return &ThrottleCounter{db: db} }

func throttleKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// failSQL counts one failure: the first of a new window starts again at 1.
// Arguments: the key, now and the window, in microseconds.
const failSQL = `INSERT INTO signin_failures (key, failures, last_us, until_us, expires_us)
	VALUES (?0, 1, ?1, 0, ?1 + ?2)
	ON CONFLICT (key) DO UPDATE SET
		failures = CASE WHEN ?1 - signin_failures.last_us > ?2 THEN 1 ELSE signin_failures.failures + 1 END,
		last_us = CASE WHEN ?1 > signin_failures.last_us THEN ?1 ELSE signin_failures.last_us END,
		expires_us = CASE WHEN ?1 + ?2 > signin_failures.expires_us THEN ?1 + ?2 ELSE signin_failures.expires_us END
	RETURNING failures`

// blockSQL moves a key's block and expiry to at least ?1.
const blockSQL = `UPDATE signin_failures SET
	until_us = CASE WHEN until_us < ?1 THEN ?1 ELSE until_us END,
	expires_us = CASE WHEN expires_us < ?1 THEN ?1 ELSE expires_us END
	WHERE key = ?0`

// Blocked implements identity.Counter.
func (c *ThrottleCounter) Blocked(ctx context.Context, now time.Time, keys ...string) (time.Duration, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	hashed := make([][]byte, len(keys))
	for i, k := range keys {
		hashed[i] = throttleKey(k)
	}
	var until *int64
	err := c.db.bun.NewRaw("SELECT max(until_us) FROM signin_failures WHERE key IN (?)", bun.In(hashed)).Scan(ctx, &until)
	if err != nil {
		return 0, fmt.Errorf("store: sign-in throttle: %w", mapErr(err))
	}
	if until == nil {
		return 0, nil
	}
	return max(0, time.Duration(*until-now.UnixMicro())*time.Microsecond), nil
}

// Fail implements identity.Counter: the count and the block are written in
// one transaction, whose row lock orders concurrent failures of a key.
func (c *ThrottleCounter) Fail(ctx context.Context, key string, p identity.ThrottlePolicy, now time.Time) (int, time.Duration, error) {
	k, nowUS := throttleKey(key), now.UnixMicro()
	var n int
	var wait time.Duration
	err := c.db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewRaw(failSQL, k, nowUS, p.Window.Microseconds()).Scan(ctx, &n); err != nil {
			return err
		}
		wait = p.Wait(n)
		if wait <= 0 {
			return nil
		}
		_, err := tx.NewRaw(blockSQL, k, nowUS+wait.Microseconds()).Exec(ctx)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: sign-in throttle: %w", mapErr(err))
	}
	return n, wait, nil
}

// Reset implements identity.Counter.
func (c *ThrottleCounter) Reset(ctx context.Context, key string) error {
	if _, err := c.db.bun.NewDelete().Table("signin_failures").Where("key = ?", throttleKey(key)).Exec(ctx); err != nil {
		return fmt.Errorf("store: sign-in throttle reset: %w", mapErr(err))
	}
	return nil
}

// Sweep implements identity.Counter: it deletes the counts that no longer
// matter at now.
func (c *ThrottleCounter) Sweep(ctx context.Context, now time.Time) error {
	if _, err := c.db.bun.NewDelete().Table("signin_failures").Where("expires_us <= ?", now.UnixMicro()).Exec(ctx); err != nil {
		return fmt.Errorf("store: sweep sign-in throttle: %w", mapErr(err))
	}
	return nil
}

var _ identity.Counter = (*ThrottleCounter)(nil)
