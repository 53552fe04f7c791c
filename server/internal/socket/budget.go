package socket

import "time"

// budget admits n events per sliding window per (one connection's reader),
// and says how long to wait when it refuses.
type budget struct {
	n     int
	per   time.Duration
	times []time.Time
}

func (b *budget) allow(now time.Time) (time.Duration, bool) {
	keep := b.times[:0]
	for _, t := range b.times {
		if now.Sub(t) < b.per {
			keep = append(keep, t)
		}
	}
	b.times = keep
	if len(b.times) >= b.n {
		return b.per - now.Sub(b.times[0]), false
	}
	b.times = append(b.times, now)
	return 0, true
}
