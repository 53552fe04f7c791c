package socket

import (
	"context"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestEnqueueDropsEphemeral: a consumer that does not read (no writer runs
// here) gets its typing and read events dropped once its queue is half full
// and stays open; only durable events that find the queue full close it,
// with a reconnect code.
func TestEnqueueDropsEphemeral(t *testing.T) {
	s := New(nil, nil, nil, Timings{QueueLen: 8}, nil, time.Now)
	c := newConn(s, nil, "") // running from the start: nothing is written
	typing := &chat.Event{Type: chat.Typing, Typing: true}
	read := &chat.Event{Type: chat.Read, Seq: 3}
	msg := &chat.Event{Type: chat.MessageCreated, Pos: 1}
	for range 1000 {
		c.Offer(typing)
		c.Offer(read)
	}
	if c.isClosed() {
		t.Fatalf("1,000 typing and read events closed the consumer: want them dropped")
	}
	if got, want := len(c.out), 4; got != want {
		t.Fatalf("queued: got %d ephemeral events, want %d (half the queue)", got, want)
	}
	for range 4 {
		c.Offer(msg)
	}
	if c.isClosed() {
		t.Fatalf("durable events that fit closed the consumer")
	}
	c.Offer(msg)
	if !c.isClosed() || c.code != protocol.CloseTooSlow {
		t.Fatalf("a durable event on a full queue: got closed=%v code %d, want closed with %d", c.isClosed(), c.code, protocol.CloseTooSlow)
	}
}

// TestBudget: n per window, sliding, with the wait until the oldest leaves.
func TestBudget(t *testing.T) {
	var b budget
	const n, per = 3, 10 * time.Second
	t0 := time.Now()
	for i := range 3 {
		if _, ok := b.allow(t0.Add(time.Duration(i)*time.Second), n, per); !ok {
			t.Fatalf("event %d refused within the budget", i)
		}
	}
	wait, ok := b.allow(t0.Add(3*time.Second), n, per)
	if ok || wait != 7*time.Second {
		t.Fatalf("fourth event: got ok=%v wait %v, want refused with 7s", ok, wait)
	}
	if _, ok := b.allow(t0.Add(10*time.Second), n, per); !ok {
		t.Fatalf("after the first left the window: refused")
	}
}

// TestDeadlinesOfClosedConnectionsGo: connections that come and go, each
// with a deadline days away, do not grow the heap without bound; the
// deadlines of open connections all stay, in order.
func TestDeadlinesOfClosedConnectionsGo(t *testing.T) {
	s := New(nil, nil, nil, Timings{QueueLen: 8}, nil, time.Now)
	far := time.Now().Add(7 * 24 * time.Hour)
	var open []*conn
	for i := range 100_000 {
		c := newConn(s, nil, "")
		s.at(c, far.Add(time.Duration(i)*time.Second), func(context.Context) time.Time { return time.Time{} })
		if i%100 == 0 {
			open = append(open, c)
		} else {
			c.Close(protocol.CloseRestart, "")
		}
	}
	if n := len(s.deadlines.h); n > 2*len(open)+minCompact {
		t.Fatalf("heap: %d deadlines for %d open connections", n, len(open))
	}
	due := s.deadlines.due(far.Add(200_000 * time.Second))
	var got int
	for i, d := range due {
		if i > 0 && d.at.Before(due[i-1].at) {
			t.Fatalf("deadlines out of order at %d", i)
		}
		if !d.c.isClosed() {
			got++
		}
	}
	if got != len(open) {
		t.Fatalf("open connections' deadlines: got %d, want %d", got, len(open))
	}
}
