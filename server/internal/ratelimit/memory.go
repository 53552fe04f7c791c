package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// minSweep is the map size below which Allow never sweeps.
const minSweep = 1024

// Memory is an in-process GCRA limiter, for a single server (SQLite mode).
// It keeps one int64 per key whose bucket is not full, and sweeps full
// buckets whenever the map has doubled since the last sweep, so memory stays
// proportional to the keys active within one Period.
type Memory struct {
	now  func() time.Time
	base time.Time

	mu        sync.Mutex
	tat       map[string]int64 // nanoseconds since base
	nextSweep int
}

// NewMemory returns an empty limiter reading the time from now (time.Now
// when nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, base: now(), tat: make(map[string]int64), nextSweep: minSweep}
}

// Allow records a request under key and tells whether it may proceed.
func (m *Memory) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	return m.AllowN(ctx, key, l, 1)
}

// AllowN admits n requests under key at once, or none.
func (m *Memory) AllowN(_ context.Context, key string, l Limit, n int) (Result, error) {
	if err := l.Validate(); err != nil {
		return Result{}, err
	}
	if n < 1 {
		return Result{}, fmt.Errorf("ratelimit: AllowN of %d requests", n)
	}
	// Sub uses the monotonic clock when now carries one, so wall-clock jumps
	// neither forgive nor block traffic.
	now := int64(m.now().Sub(m.base))
	m.mu.Lock()
	tat, ok := m.tat[key]
	if !ok {
		tat = now
	}
	tat, allowed := decide(tat, now, int64(n)*int64(l.Interval()), int64(l.Window()))
	if allowed {
		m.tat[key] = tat
		if len(m.tat) >= m.nextSweep {
			m.sweepLocked(now)
		}
	}
	m.mu.Unlock()
	return l.Result(allowed, time.Duration(tat-now)), nil
}

// Sweep forgets every key whose bucket is full again, which is the same as
// never having seen it.
func (m *Memory) Sweep() {
	now := int64(m.now().Sub(m.base))
	m.mu.Lock()
	m.sweepLocked(now)
	m.mu.Unlock()
}

// Len returns how many keys the limiter remembers.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tat)
}

func (m *Memory) sweepLocked(now int64) {
	for k, tat := range m.tat {
		if tat <= now {
			delete(m.tat, k)
		}
	}
	m.nextSweep = max(2*len(m.tat), minSweep)
}
