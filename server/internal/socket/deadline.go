package socket

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// deadline is a moment at which a connection must be looked at again: its
// API key's end, its session's expiry. fire runs in the sweeper; it returns
// the next moment to look again, or the zero time when done.
type deadline struct {
	at   time.Time
	c    *conn
	fire func(ctx context.Context) time.Time
}

// deadlines is a min-heap of moments, swept on a tick rather than a timer a
// connection, so that an idle socket costs no timer and a test's clock can
// move them.
type deadlines struct {
	mu sync.Mutex
	h  deadlineHeap
	// compactAt is the length at which the next add drops the deadlines of
	// closed connections: a session's expiry can be days away, and a heap
	// that kept every closed connection's until then would grow with each
	// reconnect and keep the connections alive.
	compactAt int
}

// minCompact is the least length at which the heap is compacted.
const minCompact = 1024

type deadlineHeap []*deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(*deadline)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return d
}

func (ds *deadlines) add(d *deadline) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	heap.Push(&ds.h, d)
	if len(ds.h) >= max(ds.compactAt, minCompact) {
		ds.compact()
	}
}

// compact drops the deadlines of closed connections and sets the next
// length to compact at to twice what is left, so that the work is paid once
// per doubling.
func (ds *deadlines) compact() {
	live := ds.h[:0]
	for _, d := range ds.h {
		if !d.c.isClosed() {
			live = append(live, d)
		}
	}
	clear(ds.h[len(live):])
	ds.h = live
	heap.Init(&ds.h)
	ds.compactAt = 2 * len(ds.h)
}

// due takes the deadlines at or before now.
func (ds *deadlines) due(now time.Time) []*deadline {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	var out []*deadline
	for ds.h.Len() > 0 && !ds.h[0].at.After(now) {
		out = append(out, heap.Pop(&ds.h).(*deadline))
	}
	return out
}

// at makes fire run at (or soon after) at, unless the connection has
// closed by then; a moment already past fires at the next sweep.
func (s *Server) at(c *conn, at time.Time, fire func(ctx context.Context) time.Time) {
	s.deadlines.add(&deadline{at: at, c: c, fire: fire})
}

// closeAt closes c with code at the given moment: at once when it is past.
func (s *Server) closeAt(c *conn, at time.Time, code int, reason string) {
	if !at.After(s.now()) {
		c.Close(code, reason)
		return
	}
	s.at(c, at, func(context.Context) time.Time {
		c.Close(code, reason)
		return time.Time{}
	})
}

// Sweep looks at the connections whose moment has come (app calls it every
// Timings.Sweep): it closes those whose key or session has ended.
func (s *Server) Sweep(ctx context.Context) {
	for _, d := range s.deadlines.due(s.now()) {
		if d.c.isClosed() {
			continue
		}
		if next := d.fire(ctx); !next.IsZero() {
			d.at = next
			s.deadlines.add(d)
		}
	}
}
