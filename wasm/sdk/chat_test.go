package sdk

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeClock runs timers when a test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    int64
	timers []*fakeTimer
}

type fakeTimer struct {
	at   int64
	f    func()
	dead bool
}

func (c *fakeClock) Now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(ms int64, f func()) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now + ms, f: f}
	c.timers = append(c.timers, t)
	return func() { c.mu.Lock(); t.dead = true; c.mu.Unlock() }
}

// Advance moves the clock by ms, firing due timers in time order.
func (c *fakeClock) Advance(ms int64) {
	c.mu.Lock()
	end := c.now + ms
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.dead && t.at <= end && (next == nil || t.at < next.at) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		next.dead = true
		c.now = next.at
		c.mu.Unlock()
		next.f()
	}
}

// fakeSock records what the chat sends; the test plays the server.
type fakeSock struct {
	url    string
	on     func(string, map[string]any, int)
	sent   []map[string]any
	closed bool
}

func (s *fakeSock) open()                  { s.on("open", nil, 0) }
func (s *fakeSock) frame(f map[string]any) { s.on("frame", f, 0) }
func (s *fakeSock) close(code int)         { s.on("close", nil, code) }

func (s *fakeSock) Send(f map[string]any) { s.sent = append(s.sent, f) }
func (s *fakeSock) Close()                { s.closed = true }

func (s *fakeSock) of(typ string) []map[string]any {
	var out []map[string]any
	for _, f := range s.sent {
		if f["type"] == typ {
			out = append(out, f)
		}
	}
	return out
}

type fakeNet struct{ socks []*fakeSock }

func (n *fakeNet) Dial(url string, on func(string, map[string]any, int)) Socket {
	s := &fakeSock{url: url, on: on}
	n.socks = append(n.socks, s)
	return s
}

func (n *fakeNet) last(t *testing.T) *fakeSock {
	t.Helper()
	if len(n.socks) == 0 {
		t.Fatal("no socket was dialled")
	}
	return n.socks[len(n.socks)-1]
}

// fakeBus is BroadcastChannel plus Web Locks for tabs in one test: posts
// are queued until deliver, and the first tab to join leads.
type fakeBus struct {
	tabs  []*fakeTab
	queue []struct {
		to  *fakeTab
		msg map[string]any
	}
}

type fakeTab struct {
	bus        *fakeBus
	recv       func(map[string]any)
	lead       func()
	closed     bool
	posts      []map[string]any
	leading    bool
	waitToLead bool
}

func (b *fakeBus) tab() *fakeTab {
	t := &fakeTab{bus: b}
	b.tabs = append(b.tabs, t)
	return t
}

func (t *fakeTab) Join(recv func(map[string]any), lead func()) {
	t.recv, t.lead = recv, lead
	for _, o := range t.bus.tabs {
		if o != t && !o.closed && (o.leading || o.waitToLead) {
			t.waitToLead = true
			return
		}
	}
	t.leading = true
	lead()
}

func (t *fakeTab) Post(msg map[string]any) {
	t.posts = append(t.posts, msg)
	for _, o := range t.bus.tabs {
		if o != t && !o.closed && o.recv != nil {
			t.bus.queue = append(t.bus.queue, struct {
				to  *fakeTab
				msg map[string]any
			}{o, msg})
		}
	}
}

// close is a tab going away: the next waiting tab takes the lock.
func (t *fakeTab) close() {
	t.closed = true
	if !t.leading {
		return
	}
	for _, o := range t.bus.tabs {
		if !o.closed && o.waitToLead {
			o.waitToLead, o.leading = false, true
			o.lead()
			return
		}
	}
}

func (b *fakeBus) deliver() {
	for len(b.queue) > 0 {
		d := b.queue[0]
		b.queue = b.queue[1:]
		if !d.to.closed {
			d.to.recv(d.msg)
		}
	}
}

// queued is the outbox as stored.
func queued(st *MemoryStorage) []map[string]any {
	v, _ := st.Load(Config{PublishableKey: pkTest}.OutboxKey())
	list, _ := v["items"].([]any)
	var out []map[string]any
	for _, e := range list {
		out = append(out, e.(map[string]any))
	}
	return out
}

// tab is one page with the SDK: a client, its chat and what it emitted.
type tab struct {
	t      *testing.T
	c      *Client
	ch     *Chat
	net    *fakeNet
	srv    *fakeServer
	events map[string][]any
	mu     sync.Mutex
}

type world struct {
	st    *MemoryStorage
	store Storage // what the pages use: st unless a test wraps it
	clock *fakeClock
	rand  float64
	newID func() string // the client ids of sends
}

func newWorld() *world {
	st := &MemoryStorage{}
	st.Save(Config{PublishableKey: pkTest}.StorageKey(), map[string]any{"v": float64(1), "token": "cs_1",
		"customer": map[string]any{"id": "c1", "name": "Jane"}})
	ids := 0
	return &world{st: st, clock: &fakeClock{}, rand: 0.5, newID: func() string { ids++; return "cid-" + strconv.Itoa(ids) }}
}

// open loads a page: tabs nil means no Web Locks or BroadcastChannel.
func (w *world) open(t *testing.T, tabs Tabs) *tab {
	t.Helper()
	srv := &fakeServer{sessions: map[string]bool{"cs_1": true}}
	var store Storage = w.st
	if w.store != nil {
		store = w.store
	}
	c := New(Config{PublishableKey: pkTest, APIBase: "https://api.example"}, srv, store)
	p := &tab{t: t, c: c, net: &fakeNet{}, srv: srv, events: map[string][]any{}}
	p.ch = NewChat(c, ChatEnv{Dial: p.net.Dial, Clock: w.clock, Random: func() float64 { return w.rand },
		NewID: func() string { return w.newID() }, Tabs: tabs})
	for _, ev := range []string{"message", "typing", "unread", "connection", "logout", "error", "ticket"} {
		c.On(ev, func(v any) {
			p.mu.Lock()
			p.events[ev] = append(p.events[ev], v)
			p.mu.Unlock()
		})
	}
	p.ch.Start()
	return p
}

func (p *tab) count(ev string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events[ev])
}

func (p *tab) lastEvent(ev string) any {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.events[ev]); n > 0 {
		return p.events[ev][n-1]
	}
	return nil
}

// messageIDs are the ids of the message events, in order.
func (p *tab) messageIDs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for _, v := range p.events["message"] {
		ids = append(ids, v.(map[string]any)["id"].(string))
	}
	return strings.Join(ids, ",")
}

// The frames below are the protocol's golden frames with a few fields
// changed: a field the golden lacks fails the test (see with).

// msg is server_message's message as seq of ticket, by author.
func msg(t testing.TB, ticket string, seq int, author, clientID string) map[string]any {
	var cid any
	if clientID != "" {
		cid = clientID
	}
	return with(t, obj(golden(t, "server_message"), "message"), "id", ticket+"-m"+strconv.Itoa(seq), "ticket_id", ticket,
		"seq", float64(seq), "author.type", author, "author.id", nil, "author.name", author, "body", "hello "+strconv.Itoa(seq),
		"client_id", cid)
}

func msgFrame(t testing.TB, ticket string, seq int, author string) map[string]any {
	return with(t, golden(t, "server_message"), "message", msg(t, ticket, seq, author, ""))
}

func ackFrame(t testing.TB, clientID, ticket string, seq int) map[string]any {
	return with(t, golden(t, "server_ack"), "client_id", clientID, "message", msg(t, ticket, seq, "customer", clientID))
}

func readyFrame(t testing.TB, tickets ...map[string]any) map[string]any {
	list := []any{}
	for _, tk := range tickets {
		list = append(list, tk)
	}
	return with(t, golden(t, "server_ready"), "customer_id", "c1", "tickets", list)
}

func ticketW(t testing.TB, id string, lastSeq, customerRead int) map[string]any {
	return with(t, obj(golden(t, "server_ticket"), "ticket"), "id", id, "status", "open", "last_seq", float64(lastSeq),
		"customer_read_seq", float64(customerRead), "agent_read_seq", float64(0))
}

func readFrame(t testing.TB, ticket, reader string, seq int) map[string]any {
	return with(t, golden(t, "server_read"), "ticket_id", ticket, "reader", reader, "seq", float64(seq))
}

type sent struct {
	m   Message
	err error
	n   int
}

func send(ch *Chat, text string) *sent {
	r := &sent{}
	ch.Send(text, nil, func(m Message, err error) { r.m, r.err = m, err; r.n++ })
	return r
}

func TestChatConnectsAndResumes(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	if want := "wss://api.example/api/widget/v1/chat?key=" + pkTest + "&v=1"; s.url != want {
		t.Fatalf("url: got %q, want %q", s.url, want)
	}
	if p.ch.State() != StateConnecting {
		t.Fatalf("state: got %q, want connecting", p.ch.State())
	}
	s.open()
	if len(s.sent) != 1 || s.sent[0]["type"] != "resume" || s.sent[0]["session"] != "cs_1" || len(s.sent[0]["tickets"].(map[string]any)) != 0 {
		t.Fatalf("first frame: got %v, want a resume with the session and no tickets", s.sent)
	}
	// Replayed out of order across two tickets, then ready.
	s.frame(msgFrame(t, "t1", 2, "agent"))
	s.frame(msgFrame(t, "t1", 1, "agent"))
	s.frame(msgFrame(t, "t2", 7, "agent"))
	s.frame(readyFrame(t, ticketW(t, "t1", 2, 0), ticketW(t, "t2", 7, 7)))
	if p.ch.State() != StateOpen || p.lastEvent("connection") != "open" {
		t.Fatalf("state after ready: got %q", p.ch.State())
	}
	s.close(4000)
	w.clock.Advance(backoffMaxMs)
	s2 := p.net.last(t)
	if s2 == s {
		t.Fatal("no reconnect after close code 4000")
	}
	s2.open()
	held := s2.sent[0]["tickets"].(map[string]any)
	if len(held) != 2 || held["t1"] != 2.0 || held["t2"] != 7.0 {
		t.Fatalf("resume tickets: got %v, want t1:2 t2:7", held)
	}
}

func TestOutboxSurvivesReloadAndFlushesOnce(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	r := send(p.ch, "  Hello there  ")
	if r.n != 0 {
		t.Fatalf("send settled while disconnected: %+v", r)
	}
	if got := queued(w.st); len(got) != 1 || got[0]["body"] != "Hello there" || got[0]["customer"] != "c1" {
		t.Fatalf("pending: got %+v", got)
	}
	if len(p.net.last(t).of("send")) != 0 {
		t.Fatal("sent before the resume")
	}

	// The page reloads before any connection: the outbox is in storage.
	q := w.open(t, nil)
	if got := queued(w.st); len(got) != 1 || got[0]["client_id"] != "cid-1" {
		t.Fatalf("pending after reload: got %+v", got)
	}
	s := q.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	sends := s.of("send")
	if len(sends) != 1 || sends[0]["client_id"] != "cid-1" || sends[0]["body"] != "Hello there" {
		t.Fatalf("sends after ready: got %v, want cid-1 once", sends)
	}
	// A second ready (or a frame of a follower for the same message) does not send it again.
	s.frame(readyFrame(t))
	if n := len(s.of("send")); n != 1 {
		t.Fatalf("sends: got %d, want 1", n)
	}
	s.frame(ackFrame(t, "cid-1", "t1", 1))
	s.frame(with(t, msgFrame(t, "t1", 1, "customer"), "message", msg(t, "t1", 1, "customer", "cid-1"))) // the echo
	if got := q.messageIDs(); got != "t1-m1" {
		t.Fatalf("message events: got %q, want t1-m1 once", got)
	}
	if len(queued(w.st)) != 0 {
		t.Fatal("acked message still pending")
	}
	if _, ok := w.st.Load(q.c.cfg.OutboxKey()); ok {
		t.Fatal("empty outbox still stored")
	}
	// Reconnecting sends nothing more.
	s.close(4001)
	w.clock.Advance(backoffMaxMs)
	s2 := q.net.last(t)
	s2.open()
	s2.frame(readyFrame(t, ticketW(t, "t1", 1, 0)))
	if n := len(s2.of("send")); n != 0 {
		t.Fatalf("sends after the ack and a reconnect: got %d, want 0", n)
	}
}

func TestSendResolvesOnAck(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	r := send(p.ch, "Hi")
	if f := s.of("send"); len(f) != 1 || f[0]["client_id"] != "cid-1" {
		t.Fatalf("send frame: got %v", f)
	}
	s.frame(msgFrame(t, "t1", 1, "customer")) // someone else's echo does not settle it
	if r.n != 0 {
		t.Fatal("settled before the ack")
	}
	s.frame(ackFrame(t, "cid-1", "t1", 2))
	if r.n != 1 || r.err != nil || r.m.Seq != 2 || r.m.ID != "t1-m2" || r.m.ClientID != "cid-1" {
		t.Fatalf("settled: %+v", r)
	}
	if m := p.lastEvent("message").(map[string]any); m["ticketId"] != "t1" || m["clientId"] != "cid-1" || m["seq"] != 2.0 ||
		m["author"].(map[string]any)["type"] != "customer" {
		t.Fatalf("message event: got %v", m)
	}
}

func TestSendRejectsBadBodies(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	for _, body := range []string{"", "   \n\t", strings.Repeat("x", 4001), " " + strings.Repeat("é", 4001)} {
		r := send(p.ch, body)
		var e *Error
		if r.n != 1 || !errors.As(r.err, &e) || e.Code != "invalid" {
			t.Errorf("body of %d bytes: got %+v, want code invalid", len(body), r)
		}
	}
	if r := send(p.ch, strings.Repeat("é", 4000)); r.n != 0 || len(queued(w.st)) != 1 {
		t.Fatalf("4000 characters: got %+v, want queued", r)
	}
}

func TestDuplicatesEmitOnce(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(msgFrame(t, "t1", 1, "agent"))
	s.frame(readyFrame(t, ticketW(t, "t1", 1, 0)))
	s.frame(msgFrame(t, "t1", 2, "agent"))
	s.frame(msgFrame(t, "t1", 3, "agent"))
	s.close(4000) // the server lost the client before it knew seq 3 arrived
	w.clock.Advance(backoffMaxMs)
	s = p.net.last(t)
	s.open()
	s.frame(msgFrame(t, "t1", 2, "agent"))
	s.frame(msgFrame(t, "t1", 3, "agent"))
	s.frame(msgFrame(t, "t1", 4, "agent"))
	dup := msgFrame(t, "t1", 4, "agent") // same ticket and seq, other id
	dup["message"].(map[string]any)["id"] = "other"
	s.frame(dup)
	s.frame(readyFrame(t, ticketW(t, "t1", 4, 0)))
	if got := p.messageIDs(); got != "t1-m1,t1-m2,t1-m3,t1-m4" {
		t.Fatalf("message events: got %q", got)
	}
}

func TestUnreadAndMarkRead(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	for i, a := range []string{"agent", "agent", "customer", "agent"} {
		s.frame(msgFrame(t, "t1", i+1, a))
	}
	if n := p.ch.UnreadCount(); n != 0 {
		t.Fatalf("unread before the read position is known: got %d, want 0", n)
	}
	s.frame(readyFrame(t, ticketW(t, "t1", 4, 1)))
	if n := p.ch.UnreadCount(); n != 2 || p.lastEvent("unread") != 2 {
		t.Fatalf("unread: got %d (event %v), want 2", n, p.lastEvent("unread"))
	}
	p.ch.MarkRead()
	if n := p.ch.UnreadCount(); n != 0 || p.lastEvent("unread") != 0 {
		t.Fatalf("unread after markRead: got %d (event %v), want 0", n, p.lastEvent("unread"))
	}
	if f := s.of("read"); len(f) != 1 || f[0]["ticket_id"] != "t1" || f[0]["seq"] != 4.0 {
		t.Fatalf("read frames: got %v, want t1 seq 4", f)
	}
	p.ch.MarkRead()
	if n := len(s.of("read")); n != 1 {
		t.Fatalf("a second markRead sent %d read frames in all, want 1", n)
	}
	s.frame(msgFrame(t, "t1", 5, "agent"))
	if p.ch.UnreadCount() != 1 {
		t.Fatalf("unread after a new agent message: got %d, want 1", p.ch.UnreadCount())
	}
	// Read while disconnected: sent after the resume.
	s.close(4000)
	p.ch.MarkRead()
	w.clock.Advance(backoffMaxMs)
	s = p.net.last(t)
	s.open()
	s.frame(readyFrame(t, ticketW(t, "t1", 5, 4)))
	if f := s.of("read"); len(f) != 1 || f[0]["seq"] != 5.0 || p.ch.UnreadCount() != 0 {
		t.Fatalf("read after the resume: got %v, unread %d", f, p.ch.UnreadCount())
	}
	// The customer's read position from another device counts; the agent's does not.
	s.frame(msgFrame(t, "t1", 6, "agent"))
	s.frame(readFrame(t, "t1", "agent", 6))
	if p.ch.UnreadCount() != 1 {
		t.Fatalf("unread after the agent read: got %d, want 1", p.ch.UnreadCount())
	}
	// The agents' read position reaches the page as a ticket event.
	if tk, _ := p.lastEvent("ticket").(map[string]any); tk == nil || tk["id"] != "t1" || tk["agentReadSeq"] != 6.0 {
		t.Fatalf("ticket event after the agent read: got %v, want t1 with agentReadSeq 6", p.lastEvent("ticket"))
	}
	s.frame(readFrame(t, "t1", "customer", 6))
	if p.ch.UnreadCount() != 0 || p.lastEvent("unread") != 0 {
		t.Fatalf("unread after the customer read elsewhere: got %d", p.ch.UnreadCount())
	}
}

func TestTyping(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	agent := map[string]any{"type": "agent", "id": "a1", "name": "Ann"}
	typing := with(t, golden(t, "server_typing"), "ticket_id", "t1", "author", agent, "typing", true, "ttl_ms", 6000.0)
	s.frame(typing)
	ev := p.lastEvent("typing").(map[string]any)
	if ev["typing"] != true || ev["ticketId"] != "t1" || ev["author"].(map[string]any)["name"] != "Ann" {
		t.Fatalf("typing event: got %v", ev)
	}
	w.clock.Advance(3000)
	s.frame(typing) // refreshed: expires 6 s from now
	w.clock.Advance(5999)
	if p.lastEvent("typing").(map[string]any)["typing"] != true {
		t.Fatal("typing expired before its refreshed ttl")
	}
	w.clock.Advance(1)
	if p.count("typing") != 3 || p.lastEvent("typing").(map[string]any)["typing"] != false {
		t.Fatalf("typing events: got %v, want true, true, false", p.events["typing"])
	}
	w.clock.Advance(60000)
	if p.count("typing") != 3 {
		t.Fatalf("typing events after expiry: got %d, want 3", p.count("typing"))
	}

	// The customer's own typing is throttled.
	for _, step := range []struct {
		after int64
		on    bool
	}{{0, true}, {1000, true}, {1999, true}, {1, true}, {500, false}, {10, false}, {10, true}} {
		w.clock.Advance(step.after)
		p.ch.SetTyping(step.on)
	}
	var got []bool
	for _, f := range s.of("typing") {
		got = append(got, f["typing"].(bool))
	}
	if len(got) != 4 || !got[0] || !got[1] || got[2] || !got[3] {
		t.Fatalf("typing frames: got %v, want [true true false true]", got)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	for _, c := range []struct {
		n    int
		r    float64
		want int64
	}{{0, 0, 0}, {0, 0.5, 250}, {0, 0.999999, 499}, {3, 0.5, 2000}, {5, 0.999999, 15999}, {6, 0.5, 15000}, {6, 0.999999, 29999}, {40, 0.5, 15000}, {1000, 0.999999, 29999}} {
		if got := Backoff(c.n, c.r); got != c.want {
			t.Errorf("Backoff(%d, %v): got %d, want %d", c.n, c.r, got, c.want)
		}
	}
	// In the chat: attempts grow, ready resets them.
	w := newWorld()
	w.rand = 0.999999
	p := w.open(t, nil)
	for i, want := range []int64{499, 999, 1999, 3999, 7999, 15999, 29999, 29999} {
		p.net.last(t).close(1006)
		before := len(p.net.socks)
		w.clock.Advance(want - 1)
		if len(p.net.socks) != before {
			t.Fatalf("attempt %d: reconnected before %d ms", i, want)
		}
		w.clock.Advance(1)
		if len(p.net.socks) != before+1 {
			t.Fatalf("attempt %d: no reconnect after %d ms", i, want)
		}
	}
	s := p.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	s.close(4000)
	before := len(p.net.socks)
	w.clock.Advance(499)
	if len(p.net.socks) != before+1 {
		t.Fatal("the backoff was not reset by ready")
	}
}

func TestWakeReconnectsAtOnce(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	p.net.last(t).close(1006)
	p.ch.Wake()
	if len(p.net.socks) != 2 {
		t.Fatalf("sockets after wake: got %d, want 2", len(p.net.socks))
	}
	p.ch.Wake() // already connecting
	w.clock.Advance(backoffMaxMs)
	if len(p.net.socks) != 2 {
		t.Fatalf("sockets after the old timer: got %d, want 2", len(p.net.socks))
	}
}

func TestCloseCodes(t *testing.T) {
	t.Run("4502 clears the session", func(t *testing.T) {
		w := newWorld()
		p := w.open(t, nil)
		r := send(p.ch, "lost")
		p.net.last(t).close(4502)
		w.clock.Advance(10 * backoffMaxMs)
		if p.c.IsIdentified() || p.count("logout") != 1 || len(p.net.socks) != 1 {
			t.Fatalf("identified=%v logouts=%d sockets=%d, want false, 1, 1", p.c.IsIdentified(), p.count("logout"), len(p.net.socks))
		}
		if _, ok := w.st.Load(p.c.cfg.StorageKey()); ok {
			t.Fatal("the session is still stored")
		}
		if r.n != 1 || r.err == nil || len(queued(w.st)) != 0 {
			t.Fatalf("the queued send: got %+v, pending %d; want rejected and dropped", r, len(queued(w.st)))
		}
	})
	for _, code := range []int{4501, 4503} {
		t.Run(strconv.Itoa(code)+" stops", func(t *testing.T) {
			w := newWorld()
			p := w.open(t, nil)
			p.net.last(t).close(code)
			w.clock.Advance(10 * backoffMaxMs)
			p.ch.Wake()
			if len(p.net.socks) != 1 || p.count("error") != 1 || !p.c.IsIdentified() {
				t.Fatalf("sockets=%d errors=%d identified=%v, want 1, 1, true", len(p.net.socks), p.count("error"), p.c.IsIdentified())
			}
			if r := send(p.ch, "x"); r.n != 1 || r.err == nil {
				t.Fatalf("send after %d: got %+v, want rejected", code, r)
			}
		})
	}
	for _, code := range []int{1006, 1009, 4000, 4004} {
		t.Run(strconv.Itoa(code)+" reconnects", func(t *testing.T) {
			w := newWorld()
			p := w.open(t, nil)
			p.net.last(t).close(code)
			w.clock.Advance(backoffMaxMs)
			if len(p.net.socks) != 2 {
				t.Fatalf("sockets: got %d, want 2", len(p.net.socks))
			}
		})
	}
}

func TestRefusedSends(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	r := send(p.ch, "fast")
	s.frame(with(t, golden(t, "server_error"), "client_id", "cid-1", "code", "rate_limited", "error", "Slow down", "retry_after_ms", 1200.0))
	if r.n != 0 || len(queued(w.st)) != 1 {
		t.Fatalf("rate limited: got %+v, pending %d; want still waiting", r, len(queued(w.st)))
	}
	w.clock.Advance(1199)
	if n := len(s.of("send")); n != 1 {
		t.Fatalf("sends before retry_after_ms: got %d, want 1", n)
	}
	w.clock.Advance(1)
	if f := s.of("send"); len(f) != 2 || f[1]["client_id"] != "cid-1" {
		t.Fatalf("sends after retry_after_ms: got %v", f)
	}
	s.frame(ackFrame(t, "cid-1", "t1", 1))
	if r.n != 1 || r.err != nil {
		t.Fatalf("after the ack: got %+v", r)
	}

	bad := send(p.ch, "spam")
	s.frame(with(t, golden(t, "server_error"), "client_id", "cid-2", "code", "invalid", "error", "Not allowed", "retry_after_ms", omit))
	var e *Error
	if bad.n != 1 || !errors.As(bad.err, &e) || e.Code != "invalid" || e.Message != "Not allowed" || len(queued(w.st)) != 0 {
		t.Fatalf("invalid: got %+v, pending %d", bad, len(queued(w.st)))
	}
	s.frame(with(t, golden(t, "server_error"), "client_id", omit, "code", "invalid", "error", "Bad frame", "retry_after_ms", omit))
	if p.count("error") != 1 {
		t.Fatalf("error events: got %d, want 1", p.count("error"))
	}
}

func TestLogoutDisconnectsAndForgets(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(msgFrame(t, "t1", 1, "agent"))
	s.frame(readyFrame(t, ticketW(t, "t1", 1, 0)))
	r := send(p.ch, "bye")
	s.close(4000) // the ack never comes
	if err := p.c.Logout(); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(10 * backoffMaxMs)
	if len(p.net.socks) != 1 {
		t.Fatalf("sockets after logout: %d", len(p.net.socks))
	}
	if r.n != 1 || r.err == nil || p.ch.UnreadCount() != 0 || p.ch.State() != StateClosed {
		t.Fatalf("send %+v, unread %d, state %q", r, p.ch.UnreadCount(), p.ch.State())
	}
	if _, ok := w.st.Load(p.c.cfg.OutboxKey()); ok {
		t.Fatal("the outbox outlived the logout")
	}
	// Signing in again connects again.
	if _, err := p.c.Login("jane@example.com", "securepass123"); err != nil {
		t.Fatal(err)
	}
	if len(p.net.socks) != 2 || p.ch.State() != StateConnecting {
		t.Fatalf("after login: sockets %d, state %q", len(p.net.socks), p.ch.State())
	}
}

func TestOutboxOfAnotherCustomerIsNotSent(t *testing.T) {
	w := newWorld()
	cfg := Config{PublishableKey: pkTest}
	w.st.Save(cfg.OutboxKey(), map[string]any{"v": 1.0, "items": []any{
		map[string]any{"client_id": "old", "body": "secret", "customer": "someone-else"},
		map[string]any{"client_id": "mine", "body": "hi", "customer": "c1"},
	}})
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(readyFrame(t))
	if f := s.of("send"); len(f) != 1 || f[0]["client_id"] != "mine" {
		t.Fatalf("sends: got %v, want only mine", f)
	}
	if got := queued(w.st); len(got) != 1 || got[0]["client_id"] != "mine" {
		t.Fatalf("stored: got %v, want only mine", got)
	}
}

// A send that drops one stale entry and adds one leaves the outbox as long
// as it was: it is saved all the same (a length comparison lost the message).
func TestOutboxSavesWhenOneDroppedAndOneAdded(t *testing.T) {
	w := newWorld()
	cfg := Config{PublishableKey: pkTest}
	w.st.Save(cfg.OutboxKey(), map[string]any{"v": 1.0, "items": []any{
		map[string]any{"client_id": "old", "body": "secret", "customer": "someone-else"},
	}})
	p := w.open(t, nil)
	if r := send(p.ch, "hi"); r.n != 0 {
		t.Fatalf("send settled while disconnected: %+v", r)
	}
	if got := queued(w.st); len(got) != 1 || got[0]["body"] != "hi" || got[0]["customer"] != "c1" {
		t.Fatalf("stored: got %v, want only the new message", got)
	}
}

func TestGetMessages(t *testing.T) {
	w := newWorld()
	p := w.open(t, nil)
	s := p.net.last(t)
	s.open()
	s.frame(msgFrame(t, "t1", 3, "agent"))
	s.frame(readyFrame(t, ticketW(t, "t1", 3, 0)))
	var got Request
	p.srv.extra = func(r Request) (Response, bool) {
		got = r
		return Response{Status: 200, Body: map[string]any{"success": true,
			"data":       []any{msg(t, "t1", 1, "agent", ""), msg(t, "t1", 2, "customer", "x"), msg(t, "t1", 3, "agent", "")},
			"pagination": map[string]any{"next_cursor": nil, "has_more": false}}}, true
	}
	ms, err := p.ch.GetMessages(HistoryQuery{BeforeSeq: 4, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://api.example/api/widget/v1/messages?limit=50&ticket_id=t1&before_seq=4"; got.Path != want || got.Method != "GET" {
		t.Fatalf("request: got %s %s, want GET %s", got.Method, got.Path, want)
	}
	if got.Headers["X-CStar-Session"] != "cs_1" || got.Headers["Authorization"] != "Bearer "+pkTest {
		t.Fatalf("headers: got %v", got.Headers)
	}
	if len(ms) != 3 || ms[0].Seq != 1 || ms[2].Seq != 3 || ms[1].ClientID != "x" {
		t.Fatalf("history: got %+v", ms)
	}
	if p.messageIDs() != "t1-m3" || p.ch.UnreadCount() != 2 {
		t.Fatalf("after history: message events %q, unread %d; want t1-m3 and 2", p.messageIDs(), p.ch.UnreadCount())
	}
	// History already held is not emitted when it arrives again.
	s.frame(msgFrame(t, "t1", 2, "customer"))
	if p.messageIDs() != "t1-m3" {
		t.Fatalf("message events: got %q", p.messageIDs())
	}
}

func TestCamel(t *testing.T) {
	got := camel(map[string]any{"ticket_id": "t", "customer_read_seq": 1.0, "id": "x", "author": map[string]any{"type": "agent"}})
	if got["ticketId"] != "t" || got["customerReadSeq"] != 1.0 || got["id"] != "x" || got["author"].(map[string]any)["type"] != "agent" || len(got) != 4 {
		t.Fatalf("got %v", got)
	}
}

func TestTabsShareOneSocket(t *testing.T) {
	w := newWorld()
	bus := &fakeBus{}
	ta, tb := bus.tab(), bus.tab()
	a := w.open(t, ta)
	b := w.open(t, tb)
	bus.deliver()
	if len(a.net.socks) != 1 || len(b.net.socks) != 0 {
		t.Fatalf("sockets: leader %d, follower %d; want 1 and 0", len(a.net.socks), len(b.net.socks))
	}
	s := a.net.last(t)
	s.open()
	s.frame(msgFrame(t, "t1", 1, "agent"))
	s.frame(readyFrame(t, ticketW(t, "t1", 1, 0)))
	bus.deliver()
	if b.ch.State() != StateOpen || b.messageIDs() != "t1-m1" || b.ch.UnreadCount() != 1 {
		t.Fatalf("follower: state %q, messages %q, unread %d", b.ch.State(), b.messageIDs(), b.ch.UnreadCount())
	}

	// The follower sends through the leader and settles on the relayed ack.
	r := send(b.ch, "from b")
	bus.deliver()
	f := s.of("send")
	if len(f) != 1 || f[0]["client_id"] != "cid-1" || f[0]["body"] != "from b" {
		t.Fatalf("leader's sends: got %v", f)
	}
	if len(queued(w.st)) != 1 {
		t.Fatalf("the follower's message is not in the outbox")
	}
	s.frame(ackFrame(t, "cid-1", "t1", 2))
	bus.deliver()
	if r.n != 1 || r.err != nil || r.m.Seq != 2 {
		t.Fatalf("follower's send: got %+v", r)
	}
	if a.messageIDs() != "t1-m1,t1-m2" || b.messageIDs() != "t1-m1,t1-m2" || len(queued(w.st)) != 0 {
		t.Fatalf("messages: leader %q, follower %q", a.messageIDs(), b.messageIDs())
	}

	// Read and typing go through the leader too; every tab's count follows.
	b.ch.MarkRead()
	b.ch.SetTyping(true)
	bus.deliver()
	if rf := s.of("read"); len(rf) != 1 || rf[0]["seq"] != 2.0 || a.ch.UnreadCount() != 0 || b.ch.UnreadCount() != 0 {
		t.Fatalf("read frames %v, unread leader %d follower %d", rf, a.ch.UnreadCount(), b.ch.UnreadCount())
	}
	if len(s.of("typing")) != 1 {
		t.Fatal("the follower's typing was not relayed")
	}

	// A third tab gets what the leader holds.
	tc := bus.tab()
	c := w.open(t, tc)
	bus.deliver()
	if c.messageIDs() != "t1-m1,t1-m2" || c.ch.State() != StateOpen || len(c.net.socks) != 0 {
		t.Fatalf("new tab: messages %q, state %q, sockets %d", c.messageIDs(), c.ch.State(), len(c.net.socks))
	}

	// The leader closes: the next tab takes over and resumes where it is.
	ta.close()
	if len(b.net.socks) != 1 {
		t.Fatalf("new leader's sockets: got %d, want 1", len(b.net.socks))
	}
	bs := b.net.last(t)
	bs.open()
	if held := bs.sent[0]["tickets"].(map[string]any); held["t1"] != 2.0 {
		t.Fatalf("new leader's resume: got %v", bs.sent[0])
	}
	bs.frame(msgFrame(t, "t1", 3, "agent"))
	bs.frame(readyFrame(t, ticketW(t, "t1", 3, 2)))
	bus.deliver()
	if c.messageIDs() != "t1-m1,t1-m2,t1-m3" || c.ch.UnreadCount() != 1 {
		t.Fatalf("third tab after the hand-over: messages %q, unread %d", c.messageIDs(), c.ch.UnreadCount())
	}
}

func TestFollowerOutboxWaitsForTheLeader(t *testing.T) {
	w := newWorld()
	bus := &fakeBus{}
	ta, tb := bus.tab(), bus.tab()
	a := w.open(t, ta)
	b := w.open(t, tb)
	r := send(b.ch, "queued")
	bus.deliver()
	s := a.net.last(t)
	if len(s.sent) != 0 {
		t.Fatalf("sent before the resume: %v", s.sent)
	}
	s.open()
	s.frame(readyFrame(t))
	if f := s.of("send"); len(f) != 1 || f[0]["client_id"] != "cid-1" {
		t.Fatalf("flushed: got %v, want cid-1 once", f)
	}
	s.frame(ackFrame(t, "cid-1", "t1", 1))
	bus.deliver()
	if r.n != 1 || r.err != nil {
		t.Fatalf("follower's send: got %+v", r)
	}
}
