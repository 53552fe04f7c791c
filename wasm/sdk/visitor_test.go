package sdk

import "testing"

// visitorWorld is a browser where the loader made an anonymous visitor (v1,
// token cs_v) and nobody is signed in.
func visitorWorld() *world {
	w := newWorld()
	w.st.Delete(Config{PublishableKey: pkTest}.StorageKey())
	w.st.Save(Config{PublishableKey: pkTest}.VisitorKey(), map[string]any{"v": float64(1), "token": "cs_v",
		"visitor": map[string]any{"id": "v1"}})
	return w
}

// TestVisitorChats: an anonymous visitor is not identified and has no
// customer, yet its chat connects with its token and sends.
func TestVisitorChats(t *testing.T) {
	w := visitorWorld()
	p := w.open(t, nil)
	if p.c.IsIdentified() || p.c.GetCustomer() != nil {
		t.Fatalf("visitor: identified %v, customer %v; want false and none", p.c.IsIdentified(), p.c.GetCustomer())
	}
	s := p.net.last(t)
	s.open()
	if s.sent[0]["session"] != "cs_v" {
		t.Fatalf("resume: got %v, want the visitor's token", s.sent[0])
	}
	s.frame(readyFrame(t))
	r := send(p.ch, "Hello")
	if got := s.of("send"); len(got) != 1 || got[0]["body"] != "Hello" {
		t.Fatalf("sends: got %v, want Hello", got)
	}
	if got := queued(w.st); len(got) != 1 || got[0]["customer"] != "v1" {
		t.Fatalf("outbox: got %v, want the visitor's message", got)
	}
	s.frame(ackFrame(t, "cid-1", "t1", 1))
	if r.n != 1 || r.err != nil {
		t.Fatalf("send: got %+v, want resolved once", r)
	}
}

// TestVisitorAppears: a visitor the loader creates after the module runs
// (Reload) starts the chat; one whose token the server refuses is dropped.
func TestVisitorAppears(t *testing.T) {
	w := newWorld()
	w.st.Delete(Config{PublishableKey: pkTest}.StorageKey())
	p := w.open(t, nil)
	if len(p.net.socks) != 0 {
		t.Fatalf("nobody: got %d sockets, want none", len(p.net.socks))
	}
	p.c.Reload(map[string]any{"v": float64(1), "token": "cs_v", "visitor": map[string]any{"id": "v1"}})
	s := p.net.last(t)
	s.open()
	if s.sent[0]["session"] != "cs_v" {
		t.Fatalf("resume: got %v, want the visitor's token", s.sent[0])
	}
	s.close(4502) // the token expired
	if _, ok := w.st.Load(Config{PublishableKey: pkTest}.VisitorKey()); ok {
		t.Error("a refused visitor token is still kept")
	}
	if p.c.principal() != "" {
		t.Errorf("after 4502: principal %q, want none", p.c.principal())
	}
}

// TestVisitorMergeKeepsTheOutbox: a sign-in in the visitor's browser sends
// the visitor's token (the proof that merges) and its messages waiting to be
// sent become the customer's, and are sent on the customer's connection;
// also when the answer has no "merged" (the server's merge failed and is
// retried in the background, or the token had expired): they were typed in
// this browser by the person who signed in.
func TestVisitorMergeKeepsTheOutbox(t *testing.T) {
	for _, merged := range []any{map[string]any{"visitor_id": "v1", "tickets": float64(1)}, nil} {
		w := visitorWorld()
		p := w.open(t, nil)
		send(p.ch, "Typed offline") // no connection yet: it waits
		p.srv.extra = func(r Request) (Response, bool) {
			if r.Headers["X-CStar-Visitor"] != "cs_v" {
				t.Errorf("sign-in headers: got %v, want X-CStar-Visitor cs_v", r.Headers)
			}
			data := map[string]any{"customer": map[string]any{"id": "c1", "name": "Jane"},
				"session": map[string]any{"token": "cs_login", "expires_at": "2026-12-28T10:00:00Z"}}
			if merged != nil {
				data["merged"] = merged
			}
			return Response{Status: 200, Body: map[string]any{"success": true, "data": data}}, true
		}
		if _, err := p.c.Login("jane@example.com", "securepass123"); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.st.Load(Config{PublishableKey: pkTest}.VisitorKey()); ok {
			t.Error("the visitor is still kept after the sign-in")
		}
		if got := queued(w.st); len(got) != 1 || got[0]["customer"] != "c1" {
			t.Fatalf("merged %v: outbox after the sign-in: got %v, want the message, now c1's", merged, got)
		}
		s := p.net.last(t)
		s.open()
		if s.sent[0]["session"] != "cs_login" {
			t.Fatalf("resume: got %v, want the customer's session", s.sent[0])
		}
		s.frame(readyFrame(t))
		if got := s.of("send"); len(got) != 1 || got[0]["body"] != "Typed offline" {
			t.Fatalf("merged %v: sends after the sign-in: got %v, want the visitor's message", merged, got)
		}
	}
}

// TestSendCarriesArticles: the articles opened before writing go in the
// send frame (and wait in the outbox with it).
func TestSendCarriesArticles(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	p.ch.Send("Still stuck", []any{"a1", "a2"}, func(Message, error) {})
	s := p.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	got := s.of("send")
	if len(got) != 1 {
		t.Fatalf("sends: got %v", got)
	}
	a, _ := got[0]["articles"].([]any)
	if len(a) != 2 || a[0] != "a1" {
		t.Errorf("send frame articles: got %v, want [a1 a2]", got[0]["articles"])
	}
	send(p.ch, "No articles")
	if f := s.of("send")[1]; f["articles"] != nil {
		t.Errorf("a send without articles: got %v", f)
	}
}

// TestVisitorInAFollowerTab: a visitor made in a tab that does not hold the
// socket (the loader of that tab stored it; the leader hears of it through
// the storage event later) writes, and its message is sent once by the
// leader when that learns of the visitor: the follower's send is posted again
// to it then.
func TestVisitorInAFollowerTab(t *testing.T) {
	w := newWorld()
	w.st.Delete(Config{PublishableKey: pkTest}.StorageKey())
	bus := &fakeBus{}
	ta, tb := bus.tab(), bus.tab()
	a := w.open(t, ta)
	b := w.open(t, tb)
	v := map[string]any{"v": float64(1), "token": "cs_v", "visitor": map[string]any{"id": "v1"}}
	b.c.Reload(v) // the follower's loader made the visitor
	r := send(b.ch, "From the second tab")
	bus.deliver() // the leader does not know the visitor yet: it drops the send
	if len(a.net.socks) != 0 {
		t.Fatalf("leader without a visitor dialled: %d sockets", len(a.net.socks))
	}
	a.c.Reload(nil) // the storage event reaches the leader
	bus.deliver()
	s := a.net.last(t)
	s.open()
	if s.sent[0]["session"] != "cs_v" {
		t.Fatalf("leader's resume: got %v, want the visitor's token", s.sent[0])
	}
	s.frame(readyFrame(t))
	if f := s.of("send"); len(f) != 1 || f[0]["body"] != "From the second tab" {
		t.Fatalf("leader's sends: got %v, want the follower's message once", f)
	}
	s.frame(ackFrame(t, "cid-1", "t1", 1))
	bus.deliver()
	if r.n != 1 || r.err != nil {
		t.Fatalf("follower's send: got %+v, want resolved once", r)
	}
}
