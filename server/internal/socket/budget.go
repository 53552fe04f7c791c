package socket

import "time"

// budget is the recent events of one kind on a connection (its reader's),
// for a sliding-window limit; it holds nothing until used. Callers pass the
// wall clock, not the server's (a test's) clock: a budget throttles what a
// client sends per real second, and a test clock that stands still would
// never let a window slide.
type budget []time.Time

// allow admits one more event at now if fewer than n happened in the last
// per, else says how long until one leaves the window.
func (b *budget) allow(now time.Time, n int, per time.Duration) (time.Duration, bool) {
	keep := (*b)[:0]
	for _, t := range *b {
		if now.Sub(t) < per {
			keep = append(keep, t)
		}
	}
	*b = keep
	if len(keep) >= n {
		return per - now.Sub(keep[0]), false
	}
	*b = append(keep, now)
	return 0, true
}
