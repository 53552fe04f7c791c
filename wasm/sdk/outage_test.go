package sdk

import (
	"errors"
	"testing"
)

// unavailableFrame is the server's refusal of a send it could not store
// for the moment.
func unavailableFrame(t testing.TB, clientID string) map[string]any {
	return with(t, golden(t, "server_error_unavailable"), "client_id", clientID)
}

// TestUnavailableSendStaysPending: a send the server could not store stays
// in the outbox, raises an unavailable error event (the send itself does
// not settle), and is sent again with the reconnect backoff, never sooner
// than retry_after_ms; once stored it resolves once, and a second ack for
// the same client id changes nothing.
func TestUnavailableSendStaysPending(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	r := send(p.ch, "during the outage")
	retryAfter := num(golden(t, "server_error_unavailable"), "retry_after_ms")
	var at []int64 // when each send went out
	sends := func() int { return len(s.of("send")) }
	for i := range 6 {
		s.frame(unavailableFrame(t, "cid-1"))
		if r.n != 0 || len(queued(w.st)) != 1 {
			t.Fatalf("refusal %d: got %+v and %d pending, want still waiting in the outbox", i, r, len(queued(w.st)))
		}
		if e, ok := p.lastEvent("error").(*Error); !ok || e.Code != "unavailable" {
			t.Fatalf("refusal %d: error event %v, want code unavailable", i, p.lastEvent("error"))
		}
		before, start := sends(), w.clock.Now()
		for sends() == before {
			w.clock.Advance(10)
			if w.clock.Now()-start > backoffMaxMs {
				t.Fatalf("refusal %d: not sent again within %d ms", i, backoffMaxMs)
			}
		}
		at = append(at, w.clock.Now()-start)
	}
	// Backoff(n, 0.5) is 250 ms·2^n: under retry_after_ms at first, then
	// above it.
	for i, d := range at {
		want := max(retryAfter, Backoff(i, w.rand))
		if d < want || d > want+10 {
			t.Errorf("wait after refusal %d: got %d ms, want %d (the backoff, at least retry_after_ms)", i, d, want)
		}
	}
	if at[len(at)-1] <= retryAfter {
		t.Errorf("waits %v: want the backoff to grow past retry_after_ms", at)
	}
	if f := s.of("send"); f[len(f)-1]["client_id"] != "cid-1" {
		t.Fatalf("resend: got %v, want the same client id", f[len(f)-1])
	}
	s.frame(ackFrame(t, "cid-1", "t1", 1))
	s.frame(ackFrame(t, "cid-1", "t1", 1)) // the ack of a resend after a lost ack
	if r.n != 1 || r.err != nil || r.m.Seq != 1 {
		t.Fatalf("after the ack: got %+v, want resolved once", r)
	}
	if p.messageIDs() != "t1-m1" || len(queued(w.st)) != 0 {
		t.Fatalf("messages %q, pending %d; want t1-m1 once and nothing pending", p.messageIDs(), len(queued(w.st)))
	}
}

// TestUnavailableSendSurvivesAReload: a send refused as unavailable is
// still in the outbox after the page reloads (where the loader's
// pendingMessages reads it), is sent once by the new page when it
// connects, and shows once when stored.
func TestUnavailableSendSurvivesAReload(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	send(p.ch, "keep me")
	s.frame(unavailableFrame(t, "cid-1"))
	s.close(4000) // the page goes

	q := w.open(t, nil)
	if pend := queued(w.st); len(pend) != 1 || pend[0]["client_id"] != "cid-1" || pend[0]["body"] != "keep me" {
		t.Fatalf("outbox after the reload: got %v, want cid-1", pend)
	}
	s2 := q.net.last(t)
	s2.open()
	s2.frame(readyFrame(t))
	if f := s2.of("send"); len(f) != 1 || f[0]["client_id"] != "cid-1" {
		t.Fatalf("sends after the reload: got %v, want cid-1 once", f)
	}
	s2.frame(ackFrame(t, "cid-1", "t1", 1))
	if q.messageIDs() != "t1-m1" || len(queued(w.st)) != 0 {
		t.Fatalf("after the ack: messages %q, outbox %v", q.messageIDs(), queued(w.st))
	}
}

// TestReconnectCloseKeepsTheSend: a send whose connection closes with a
// reconnect code before the ack stays pending and is sent once on the next
// connection; it resolves once.
func TestReconnectCloseKeepsTheSend(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	r := send(p.ch, "in flight")
	s.close(4000)
	if r.n != 0 || len(queued(w.st)) != 1 {
		t.Fatalf("after the close: got %+v, %d pending; want waiting", r, len(queued(w.st)))
	}
	w.clock.Advance(backoffMaxMs)
	s2 := p.net.last(t)
	s2.open()
	s2.frame(readyFrame(t))
	if f := s2.of("send"); len(f) != 1 || f[0]["client_id"] != "cid-1" {
		t.Fatalf("sends on the new connection: got %v, want cid-1 once", f)
	}
	s2.frame(ackFrame(t, "cid-1", "t1", 1))
	if r.n != 1 || r.err != nil {
		t.Fatalf("after the ack: got %+v", r)
	}
}

// TestPermanentRefusalsFail: invalid, forbidden and too_large refuse a send
// for good: it rejects with the code and leaves the outbox.
func TestPermanentRefusalsFail(t *testing.T) {
	for _, code := range []string{"invalid", "forbidden", "too_large"} {
		t.Run(code, func(t *testing.T) {
			w := newWorld()
			p := w.open(t, nil)
			s := p.net.last(t)
			s.open()
			s.frame(readyFrame(t))
			r := send(p.ch, "no")
			s.frame(with(t, golden(t, "server_error"), "client_id", "cid-1", "code", code, "error", "No", "retry_after_ms", omit))
			var e *Error
			if r.n != 1 || !errors.As(r.err, &e) || e.Code != code || len(queued(w.st)) != 0 {
				t.Fatalf("got %+v, %d pending; want rejected with %s and dropped", r, len(queued(w.st)), code)
			}
		})
	}
}

// racyStorage lets a test run another tab's code in the middle of one
// tab's read-modify-write of the outbox, as two browser tabs may.
type racyStorage struct {
	*MemoryStorage
	during func() // run once, inside the next Load
}

func (r *racyStorage) Load(key string) (map[string]any, bool) {
	v, ok := r.MemoryStorage.Load(key)
	if f := r.during; f != nil {
		r.during = nil
		f()
	}
	return v, ok
}

// TestOutboxWritersDoNotRace: a follower tab sends while the leader tab
// writes the outbox (two tabs' read-modify-write of localStorage at once).
// Only the leader writes the outbox, so neither message is lost: after the
// connection drops before any ack, the next one sends both, and both
// resolve.
func TestOutboxWritersDoNotRace(t *testing.T) {
	w := newWorld()
	bus := &fakeBus{}
	ta, tb := bus.tab(), bus.tab()
	a := w.open(t, ta)
	racy := &racyStorage{MemoryStorage: w.st} // b's view of the storage
	w.store = racy
	b := w.open(t, tb)
	bus.deliver()
	s := a.net.last(t)
	s.open()
	s.frame(readyFrame(t))

	// The leader's send runs between the follower's read of the outbox
	// and its write, if the follower reads it at all.
	var fromA *sent
	racy.during = func() { fromA = send(a.ch, "from the leader") }
	fromB := send(b.ch, "from the follower")
	if racy.during != nil {
		racy.during()
	}
	bus.deliver()
	if got := queued(w.st); len(got) != 2 {
		t.Fatalf("outbox after both sends: got %v, want both", got)
	}

	s.close(4000) // no ack arrives
	w.clock.Advance(backoffMaxMs)
	s2 := a.net.last(t)
	s2.open()
	s2.frame(readyFrame(t))
	ids := map[any]bool{}
	for _, f := range s2.of("send") {
		ids[f["client_id"]] = true
	}
	if len(ids) != 2 {
		t.Fatalf("sends on the next connection: got %v, want both messages", s2.of("send"))
	}
	s2.frame(ackFrame(t, "cid-1", "t1", 1))
	s2.frame(ackFrame(t, "cid-2", "t1", 2))
	bus.deliver()
	if fromA.n != 1 || fromB.n != 1 || fromA.err != nil || fromB.err != nil || len(queued(w.st)) != 0 {
		t.Fatalf("sends: leader %+v, follower %+v, %d pending; want both resolved", fromA, fromB, len(queued(w.st)))
	}
}

// TestFollowerSendReachesTheNextLeader: a follower's send posted while the
// leader tab was going away (nobody stored it) is handed to the tab that
// leads next, which stores and sends it.
func TestFollowerSendReachesTheNextLeader(t *testing.T) {
	w := newWorld()
	bus := &fakeBus{}
	ta, tc, tb := bus.tab(), bus.tab(), bus.tab()
	w.open(t, ta)
	c := w.open(t, tc)
	b := w.open(t, tb)
	bus.deliver()
	ta.closed = true // unloading: it reads nothing more, but holds the lock a moment longer
	r := send(b.ch, "hand me over")
	bus.deliver()
	if len(queued(w.st)) != 0 {
		t.Fatalf("stored by a follower: %v", queued(w.st))
	}
	ta.close() // the lock passes to c
	bus.deliver()
	if got := queued(w.st); len(got) != 1 || got[0]["client_id"] != "cid-1" {
		t.Fatalf("the new leader's outbox: got %v, want b's cid-1", got)
	}
	s := c.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	if f := s.of("send"); len(f) != 1 || f[0]["client_id"] != "cid-1" {
		t.Fatalf("the new leader's sends: got %v, want cid-1 once", f)
	}
	s.frame(ackFrame(t, "cid-1", "t1", 1))
	bus.deliver()
	if r.n != 1 || r.err != nil || len(queued(w.st)) != 0 {
		t.Fatalf("b's send: got %+v, %d pending", r, len(queued(w.st)))
	}
}

// TestSignInDuringAnOutage: signup, login and identify refused because the
// database is unavailable reject with status 503 and code unavailable (the
// widget retries them), and a 503 on a session's call keeps the session: only a 401
// ends it.
func TestSignInDuringAnOutage(t *testing.T) {
	c, srv, _ := newClient(t, pkTest)
	if _, err := c.Login("jane@example.com", "securepass123"); err != nil {
		t.Fatal(err)
	}
	srv.extra = func(Request) (Response, bool) {
		return Response{Status: 503, Body: map[string]any{"success": false, "error": "Service temporarily unavailable, please retry",
			"code": "unavailable"}}, true
	}
	for name, call := range map[string]func() error{
		"signup":   func() error { _, err := c.Signup("ann@example.com", "Ann", "securepass123"); return err },
		"login":    func() error { _, err := c.Login("jane@example.com", "securepass123"); return err },
		"identify": func() error { _, err := c.Identify(map[string]any{"token": "x"}); return err },
	} {
		var e *Error
		if err := call(); !errors.As(err, &e) || e.Status != 503 || e.Code != "unavailable" {
			t.Errorf("%s during an outage: got %v, want status 503, code unavailable", name, err)
		}
	}
	if _, err := c.call("GET", "/me", nil, true); err == nil || !c.IsIdentified() {
		t.Errorf("a session's call during an outage: got %v, identified %v; want an error and the session kept", err, c.IsIdentified())
	}
}

// TestRefusedSendKeepsTypingOrder: after a refusal the outbox goes one
// message at a time, in order, until it empties: a message typed while an
// earlier one waits for its retry is sent only once the earlier is stored,
// so it is never stored before it.
func TestRefusedSendKeepsTypingOrder(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	send(p.ch, "first")
	s.frame(unavailableFrame(t, "cid-1"))
	send(p.ch, "second")
	send(p.ch, "third")
	order := func() []any {
		var ids []any
		for _, f := range s.of("send") {
			ids = append(ids, f["client_id"])
		}
		return ids
	}
	if got := order(); len(got) != 1 {
		t.Fatalf("sends while the first waits for its retry: got %v, want only the first's", got)
	}
	w.clock.Advance(backoffMaxMs)
	if got := order(); len(got) != 2 || got[1] != "cid-1" {
		t.Fatalf("the retry: got %v, want the first again, alone", got)
	}
	s.frame(ackFrame(t, "cid-1", "t1", 1))
	if got := order(); len(got) != 3 || got[2] != "cid-2" {
		t.Fatalf("after the first is stored: got %v, want the second next", got)
	}
	s.frame(ackFrame(t, "cid-2", "t1", 2))
	if got := order(); len(got) != 4 || got[3] != "cid-3" {
		t.Fatalf("after the second is stored: got %v, want the third next", got)
	}
	s.frame(ackFrame(t, "cid-3", "t1", 3))
	if len(queued(w.st)) != 0 {
		t.Fatal("outbox not empty after every ack")
	}
	// Empty again: sends go at once.
	send(p.ch, "fourth")
	if got := order(); len(got) != 5 || got[4] != "cid-4" {
		t.Fatalf("a send once the outbox emptied: got %v, want it sent at once", got)
	}
}
