package sdk

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/protocol"
)

// Reconnect backoff and typing throttle, in milliseconds.
const (
	backoffBaseMs = 500
	backoffMaxMs  = 30000
	typingEveryMs = 3000
)

// Connection states, as the connection event reports them.
const (
	StateConnecting = "connecting"
	StateOpen       = "open"
	StateClosed     = "closed"
)

// Socket is one websocket. Frames are JSON objects; the bridge encodes and
// decodes them. Neither method may call the SocketEvents synchronously.
type Socket interface {
	Send(frame map[string]any)
	Close()
}

// SocketEvents are what a Socket reports, always asynchronously.
type SocketEvents struct {
	Open  func()
	Frame func(map[string]any)
	Close func(code int)
}

// Dialer opens a websocket at url, or returns nil when it cannot even try.
type Dialer func(url string, ev SocketEvents) Socket

// Clock tells the time and runs functions later (setTimeout in the
// browser, a fake in tests), in milliseconds.
type Clock interface {
	Now() int64
	AfterFunc(ms int64, f func()) (stop func())
}

// Tabs connects the tabs of one browser that share a storage key. Join
// subscribes recv to the other tabs' posts and queues for leadership; lead
// runs once this tab is the leader, which it stays until it closes. Post
// reaches every other tab, never this one, and never synchronously.
type Tabs interface {
	Join(recv func(map[string]any), lead func())
	Post(msg map[string]any)
}

// ChatEnv is what the chat needs from its surroundings.
type ChatEnv struct {
	Dial   Dialer
	Clock  Clock
	Random func() float64 // in [0, 1)
	NewID  func() string  // client ids of sent messages
	Tabs   Tabs           // nil: this tab opens its own socket
}

// Author is who wrote a message or is typing.
type Author struct {
	Type string
	ID   string
	Name string
}

// Map is the JS-facing shape {type, id, name}.
func (a Author) Map() map[string]any {
	return map[string]any{"type": a.Type, "id": nullable(a.ID), "name": a.Name}
}

func authorFrom(m map[string]any) Author {
	return Author{Type: str(m, "type"), ID: str(m, "id"), Name: str(m, "name")}
}

// Message is one chat message. A Pending message waits in the outbox and
// has no id, ticket, seq or time yet.
type Message struct {
	ID        string
	TicketID  string
	Seq       int64
	Author    Author
	Body      string
	ClientID  string
	CreatedAt string
	Pending   bool
}

// Map is the JS-facing shape {id, ticketId, seq, author, body, clientId,
// createdAt}, with pending: true for a message in the outbox.
func (m Message) Map() map[string]any {
	out := map[string]any{"id": nullable(m.ID), "ticketId": nullable(m.TicketID), "seq": nil,
		"author": m.Author.Map(), "body": m.Body, "clientId": nullable(m.ClientID), "createdAt": nullable(m.CreatedAt)}
	if m.Pending {
		out["pending"] = true
	} else {
		out["seq"] = float64(m.Seq)
	}
	return out
}

// MessageMaps is the JS-facing shape of a list of messages.
func MessageMaps(ms []Message) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m.Map()
	}
	return out
}

func (m Message) wire() map[string]any {
	a := map[string]any{"type": m.Author.Type, "id": nullable(m.Author.ID), "name": m.Author.Name}
	return map[string]any{"id": m.ID, "ticket_id": m.TicketID, "seq": float64(m.Seq), "author": a,
		"body": m.Body, "client_id": nullable(m.ClientID), "created_at": m.CreatedAt}
}

func messageFrom(m map[string]any) Message {
	return Message{ID: str(m, "id"), TicketID: str(m, "ticket_id"), Seq: num(m, "seq"), Author: authorFrom(obj(m, "author")),
		Body: str(m, "body"), ClientID: str(m, "client_id"), CreatedAt: str(m, "created_at")}
}

func num(m map[string]any, k string) int64 {
	switch v := m[k].(type) {
	case float64:
		return int64(v)
	case int:
		return int64(v)
	case int64:
		return v
	}
	return 0
}

// ticket is what the chat holds of one conversation.
type ticket struct {
	id, status, createdAt, updatedAt string
	lastSeq, readSeq, agentReadSeq   int64
	known                            bool      // the server told the read positions
	msgs                             []Message // ascending seq
}

func (t *ticket) maxSeq() int64 {
	if n := len(t.msgs); n > 0 {
		return t.msgs[n-1].Seq
	}
	return 0
}

// Map is the JS-facing shape of a ticket.
func (t *ticket) Map() map[string]any {
	return map[string]any{"id": t.id, "status": t.status, "lastSeq": float64(t.lastSeq),
		"customerReadSeq": float64(t.readSeq), "agentReadSeq": float64(t.agentReadSeq),
		"createdAt": t.createdAt, "updatedAt": t.updatedAt}
}

func (t *ticket) wire() map[string]any {
	return map[string]any{"id": t.id, "status": t.status, "last_seq": float64(t.lastSeq),
		"customer_read_seq": float64(t.readSeq), "agent_read_seq": float64(t.agentReadSeq),
		"created_at": t.createdAt, "updated_at": t.updatedAt}
}

// outItem is a message in the outbox.
type outItem struct{ id, body, customer string }

type typingTimer struct {
	gen  int
	stop func()
}

// Chat is the live chat of the signed-in customer. One tab of the browser
// (the leader) holds the websocket and relays its frames to the others;
// messages are deduplicated by id and by ticket and seq, and messages
// waiting for a connection live in an outbox in storage, shared by the tabs
// and kept across reloads.
type Chat struct {
	c   *Client
	env ChatEnv

	mu        sync.Mutex
	later     []func() // callbacks and events, run once mu is released
	leader    bool
	wanted    bool   // a customer is signed in: stay connected
	fatal     *Error // the server refused the key or the protocol version
	state     string
	sock      Socket
	token     string // the session the socket resumed
	gen       int    // which socket and retry the callbacks belong to
	ready     bool   // the replay after the resume is done
	attempt   int
	stopRetry func()
	inflight  map[string]bool // client ids sent on this connection
	waiters   map[string]func(Message, error)
	seen      map[string]bool // message ids
	tickets   map[string]*ticket
	current   string // the ticket the customer is chatting in
	customer  string // whose messages are held
	typing    map[string]typingTimer
	typingGen int
	typingOn  bool
	typingAt  int64
	unread    int
}

// NewChat returns the chat of client c; Start connects it.
func NewChat(c *Client, env ChatEnv) *Chat {
	ch := &Chat{c: c, env: env, state: StateClosed, waiters: map[string]func(Message, error){}}
	ch.forget()
	return ch
}

// Start joins the other tabs, connects once a customer is signed in and
// disconnects when they sign out.
func (ch *Chat) Start() {
	ch.c.On("identified", func(any) { ch.do(ch.restart) })
	ch.c.On("logout", func(any) { ch.do(ch.stop) })
	if ch.env.Tabs == nil {
		ch.do(ch.lead)
	} else {
		ch.env.Tabs.Join(ch.recv, func() { ch.do(ch.lead) })
	}
	if ch.c.IsIdentified() {
		ch.do(ch.restart)
	}
}

// do runs f under the lock, then the callbacks and events f queued, after
// an unread event when the count changed. Handlers may call the chat again.
func (ch *Chat) do(f func()) {
	ch.mu.Lock()
	f()
	if n := ch.unreadLocked(); n != ch.unread {
		ch.unread = n
		ch.emitLater("unread", n)
	}
	later := ch.later
	ch.later = nil
	ch.mu.Unlock()
	for _, g := range later {
		g()
	}
}

func (ch *Chat) emitLater(event string, v any) {
	ch.later = append(ch.later, func() { ch.c.emit(event, v) })
}

func (ch *Chat) forget() {
	for _, t := range ch.typing {
		t.stop()
	}
	ch.tickets, ch.seen, ch.typing = map[string]*ticket{}, map[string]bool{}, map[string]typingTimer{}
	ch.current, ch.typingOn, ch.inflight = "", false, map[string]bool{}
}

func (ch *Chat) lead() {
	ch.leader = true
	if ch.wanted && ch.sock == nil {
		ch.attempt = 0
		ch.dial()
	}
}

// restart follows a sign-in: a new session needs a new connection.
func (ch *Chat) restart() {
	cust := ch.c.GetCustomer()
	if cust == nil {
		ch.stop()
		return
	}
	if cust.ID != ch.customer {
		ch.forget()
		ch.customer = cust.ID
	}
	ch.wanted, ch.fatal = true, nil
	if ch.leader {
		ch.attempt = 0
		ch.dial()
	} else {
		ch.post("hello", nil)
	}
	ch.pendingChanged()
}

// stop follows a sign-out: the connection, the messages, the outbox and the
// waiting sends all go.
func (ch *Chat) stop() {
	ch.wanted = false
	ch.closeSocket()
	ch.setState(StateClosed)
	for id := range ch.waiters {
		ch.settle(id, Message{}, &Error{Message: "Signed out", Code: "unauthorized"})
	}
	ch.c.storage.Delete(ch.c.cfg.OutboxKey())
	ch.forget()
	ch.customer = ""
	ch.pendingChanged()
}

func (ch *Chat) closeSocket() {
	if ch.sock != nil {
		ch.sock.Close()
		ch.sock = nil
	}
	if ch.stopRetry != nil {
		ch.stopRetry()
		ch.stopRetry = nil
	}
	ch.gen++
	ch.ready = false
	ch.inflight = map[string]bool{}
}

func (ch *Chat) url() string {
	base := ch.c.cfg.APIBase
	if strings.HasPrefix(base, "http") {
		base = "ws" + base[4:]
	}
	return base + protocol.ChatPath + "?key=" + queryEscape(ch.c.cfg.PublishableKey) + "&v=" + strconv.Itoa(protocol.ChatVersion)
}

func (ch *Chat) dial() {
	ch.closeSocket()
	gen := ch.gen
	ch.token = ch.c.session()
	ch.setState(StateConnecting)
	ch.sock = ch.env.Dial(ch.url(), SocketEvents{
		Open: func() {
			ch.do(func() {
				if gen == ch.gen {
					ch.resume()
				}
			})
		},
		Frame: func(f map[string]any) {
			ch.do(func() {
				if gen == ch.gen {
					ch.post("frame", f)
					ch.handle(f, true)
				}
			})
		},
		Close: func(code int) {
			ch.do(func() {
				if gen == ch.gen {
					ch.closed(code)
				}
			})
		},
	})
	if ch.sock == nil {
		ch.closed(1006)
	}
}

// resume is the first frame: the session, and the last seq held of every
// ticket so that the server replays only what is missing.
func (ch *Chat) resume() {
	held := map[string]any{}
	for id, t := range ch.tickets {
		if s := t.maxSeq(); s > 0 {
			held[id] = float64(s)
		}
	}
	ch.sock.Send(map[string]any{"type": protocol.FrameResume, "session": ch.token, "tickets": held})
}

// Backoff is the delay in milliseconds before reconnect attempt n (from 0)
// given r in [0, 1): full jitter, r times min(30 s, 500 ms·2^n), so that
// the browsers a restarting server dropped do not return all at once.
func Backoff(n int, r float64) int64 {
	ceil := int64(backoffMaxMs)
	if n < 16 && backoffBaseMs<<n < ceil {
		ceil = backoffBaseMs << n
	}
	return int64(r * float64(ceil))
}

func (ch *Chat) closed(code int) {
	ch.closeSocket()
	ch.setState(StateClosed)
	switch {
	case code == protocol.CloseSessionInvalid:
		ch.wanted = false
		tok := ch.token
		ch.later = append(ch.later, func() {
			if ch.c.session() == tok {
				ch.c.clear() // emits logout, as a 401 does
			}
		})
	case !protocol.Reconnect(code):
		ch.wanted = false
		ch.fatal = &Error{Message: "The chat refused this publishable key or SDK version", Code: "unauthorized"}
		if code == protocol.CloseVersion {
			ch.fatal.Code = "invalid"
		}
		ch.emitLater("error", ch.fatal)
		for id := range ch.waiters {
			ch.settle(id, Message{}, ch.fatal)
		}
	case ch.wanted && ch.leader:
		gen := ch.gen
		ch.stopRetry = ch.env.Clock.AfterFunc(Backoff(ch.attempt, ch.env.Random()), func() {
			ch.do(func() {
				if gen == ch.gen && ch.wanted {
					ch.stopRetry = nil
					ch.dial()
				}
			})
		})
		ch.attempt++
	}
}

// Wake reconnects at once, without waiting for the backoff: the browser is
// back online or the page became visible.
func (ch *Chat) Wake() {
	ch.do(func() {
		switch {
		case !ch.wanted:
		case !ch.leader:
			ch.post("poke", nil)
		case ch.sock == nil:
			ch.dial()
		}
	})
}

func (ch *Chat) setState(s string) {
	if s == ch.state {
		return
	}
	ch.state = s
	ch.emitLater("connection", s)
	if ch.leader {
		ch.post("state", map[string]any{"state": s})
	}
}

// State is the connection state: connecting, open or closed.
func (ch *Chat) State() string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.state
}

func (ch *Chat) post(kind string, d map[string]any) {
	if ch.env.Tabs != nil {
		ch.env.Tabs.Post(map[string]any{"k": kind, "d": d})
	}
}

// handle applies a server frame; own frames come from this tab's socket,
// the others were relayed by the leader.
func (ch *Chat) handle(f map[string]any, own bool) {
	switch str(f, "type") {
	case protocol.FrameMessage:
		m := messageFrom(obj(f, "message"))
		if ch.add(m, true) {
			ch.current = m.TicketID
		}
	case protocol.FrameAck:
		id := str(f, "client_id")
		m := messageFrom(obj(f, "message"))
		delete(ch.inflight, id)
		if own {
			ch.dropOutbox(id)
		}
		if ch.add(m, true) {
			ch.current = m.TicketID
		}
		ch.settle(id, m, nil)
		ch.pendingChanged()
	case protocol.FrameReady:
		list, _ := f["tickets"].([]any)
		for _, v := range list {
			tm, _ := v.(map[string]any)
			if t := ch.updateTicket(tm, own); t != nil && t.status != "closed" {
				ch.current = t.id
			}
		}
		if own {
			ch.ready, ch.attempt = true, 0
			ch.setState(StateOpen)
			ch.flush()
		}
	case protocol.FrameTicket:
		ch.updateTicket(obj(f, "ticket"), false)
	case protocol.FrameRead:
		t := ch.ticket(str(f, "ticket_id"))
		if t == nil {
			return
		}
		seq := num(f, "seq")
		if str(f, "reader") == protocol.AuthorAgent {
			t.agentReadSeq = max(t.agentReadSeq, seq)
		} else {
			t.readSeq = max(t.readSeq, seq)
		}
		ch.emitLater("read", map[string]any{"ticketId": t.id, "reader": str(f, "reader"), "seq": float64(seq)})
	case protocol.FrameTyping:
		ch.typingFrame(f)
	case protocol.FrameError:
		ch.refused(f, own)
	}
}

func (ch *Chat) ticket(id string) *ticket {
	if id == "" {
		return nil
	}
	t := ch.tickets[id]
	if t == nil {
		t = &ticket{id: id}
		ch.tickets[id] = t
	}
	return t
}

// updateTicket applies a ticket as the server sent it. After a resume,
// catchUp sends the read positions marked while disconnected.
func (ch *Chat) updateTicket(m map[string]any, catchUp bool) *ticket {
	t := ch.ticket(str(m, "id"))
	if t == nil {
		return nil
	}
	read := num(m, "customer_read_seq")
	if catchUp && t.readSeq > read {
		ch.sock.Send(map[string]any{"type": protocol.FrameRead, "ticket_id": t.id, "seq": float64(t.readSeq)})
	}
	t.status, t.createdAt, t.updatedAt = str(m, "status"), str(m, "created_at"), str(m, "updated_at")
	t.lastSeq = max(t.lastSeq, num(m, "last_seq"))
	t.readSeq = max(t.readSeq, read)
	t.agentReadSeq = max(t.agentReadSeq, num(m, "agent_read_seq"))
	t.known = true
	ch.emitLater("ticket", t.Map())
	return t
}

// add merges m into the messages held and reports whether it was new;
// a message is the same when its id or its ticket and seq are.
func (ch *Chat) add(m Message, emit bool) bool {
	t := ch.ticket(m.TicketID)
	if m.ID == "" || t == nil || ch.seen[m.ID] {
		return false
	}
	i := len(t.msgs)
	for i > 0 && t.msgs[i-1].Seq >= m.Seq {
		i--
	}
	if i < len(t.msgs) && t.msgs[i].Seq == m.Seq {
		return false
	}
	t.msgs = append(t.msgs, Message{})
	copy(t.msgs[i+1:], t.msgs[i:])
	t.msgs[i] = m
	ch.seen[m.ID] = true
	t.lastSeq = max(t.lastSeq, m.Seq)
	if emit {
		ch.emitLater("message", m.Map())
	}
	return true
}

func (ch *Chat) settle(id string, m Message, err error) {
	if w := ch.waiters[id]; w != nil {
		delete(ch.waiters, id)
		ch.later = append(ch.later, func() { w(m, err) })
	}
}

// refused handles an error frame. A send refused for its rate is retried
// when the server says; any other refusal is final.
func (ch *Chat) refused(f map[string]any, own bool) {
	id := str(f, "client_id")
	e := &Error{Message: str(f, "error"), Code: str(f, "code")}
	switch {
	case id == "":
		ch.emitLater("error", e)
	case e.Code == "rate_limited" || e.Code == "unavailable":
		if !own {
			return
		}
		delete(ch.inflight, id)
		wait, gen := num(f, "retry_after_ms"), ch.gen
		if wait <= 0 {
			wait = 1000
		}
		ch.env.Clock.AfterFunc(wait, func() {
			ch.do(func() {
				if gen != ch.gen {
					return // a new connection flushes the outbox anyway
				}
				for _, it := range ch.outbox() {
					if it.id == id {
						ch.sendNow(sendFrame(it))
					}
				}
			})
		})
	default:
		if own {
			ch.dropOutbox(id)
		}
		ch.settle(id, Message{}, e)
		ch.pendingChanged()
	}
}

func (ch *Chat) typingFrame(f map[string]any) {
	a := authorFrom(obj(f, "author"))
	tid := str(f, "ticket_id")
	key := tid + "\x00" + a.Type + "\x00" + a.ID + "\x00" + a.Name
	on, _ := f["typing"].(bool)
	old, had := ch.typing[key]
	if had {
		old.stop()
		delete(ch.typing, key)
	}
	if !on && !had {
		return
	}
	ev := map[string]any{"ticketId": tid, "author": a.Map(), "typing": on}
	if on {
		ttl := num(f, "ttl_ms")
		if ttl <= 0 {
			ttl = protocol.TypingTTLMillis
		}
		ch.typingGen++
		gen := ch.typingGen
		stop := ch.env.Clock.AfterFunc(ttl, func() {
			ch.do(func() {
				if t, ok := ch.typing[key]; ok && t.gen == gen {
					delete(ch.typing, key)
					ch.emitLater("typing", map[string]any{"ticketId": tid, "author": a.Map(), "typing": false})
				}
			})
		})
		ch.typing[key] = typingTimer{gen: gen, stop: stop}
	}
	ch.emitLater("typing", ev)
}

// recv handles a post of another tab.
func (ch *Chat) recv(msg map[string]any) {
	ch.do(func() {
		d := obj(msg, "d")
		switch str(msg, "k") {
		case "frame":
			if !ch.leader && ch.wanted {
				ch.handle(d, false)
			}
		case "state":
			if !ch.leader {
				ch.setState(str(d, "state"))
			}
		case "snap":
			if ch.leader || !ch.wanted {
				return
			}
			ms, _ := d["messages"].([]any)
			for _, v := range ms {
				m, _ := v.(map[string]any)
				ch.add(messageFrom(m), true)
			}
			ts, _ := d["tickets"].([]any)
			for _, v := range ts {
				tm, _ := v.(map[string]any)
				ch.updateTicket(tm, false)
			}
			ch.current = str(d, "current")
			ch.setState(str(d, "state"))
		case "hello":
			if ch.leader {
				ch.snapshot()
			}
		case "poke":
			if ch.leader && ch.wanted && ch.sock == nil {
				ch.dial()
			}
		case "out":
			// A follower's frame: the leader sends it; every tab applies
			// the customer's read position at once.
			switch str(d, "type") {
			case protocol.FrameRead:
				if t := ch.ticket(str(d, "ticket_id")); t != nil {
					t.readSeq = max(t.readSeq, num(d, "seq"))
				}
			case protocol.FrameSend:
				if ch.leader && ch.wanted {
					ch.addOutbox(outItem{id: str(d, "client_id"), body: str(d, "body"), customer: ch.customer})
				}
				ch.pendingChanged()
			}
			if ch.leader {
				ch.sendNow(d)
			}
		}
	})
}

// snapshot tells the other tabs everything this leader holds.
func (ch *Chat) snapshot() {
	var ms, ts []any
	for _, t := range ch.tickets {
		ts = append(ts, t.wire())
		for _, m := range t.msgs {
			ms = append(ms, m.wire())
		}
	}
	ch.post("snap", map[string]any{"state": ch.state, "current": ch.current, "tickets": ts, "messages": ms})
}

// sendNow sends f on a ready socket, a send at most once per connection.
func (ch *Chat) sendNow(f map[string]any) {
	if !ch.ready || ch.sock == nil {
		return
	}
	if id := str(f, "client_id"); id != "" {
		if ch.inflight[id] {
			return
		}
		ch.inflight[id] = true
	}
	ch.sock.Send(f)
}

// out sends a client frame, through the leader when this tab follows.
func (ch *Chat) out(f map[string]any) {
	if ch.leader {
		ch.sendNow(f)
	} else {
		ch.post("out", f)
	}
}

func sendFrame(it outItem) map[string]any {
	return map[string]any{"type": protocol.FrameSend, "client_id": it.id, "body": it.body}
}

// flush sends the outbox after a resume. Messages another customer left
// behind on this browser are dropped, never sent.
func (ch *Chat) flush() {
	items := ch.outbox()
	keep := items[:0]
	for _, it := range items {
		if it.customer == ch.customer {
			keep = append(keep, it)
			ch.sendNow(sendFrame(it))
		}
	}
	if len(keep) != len(items) {
		ch.saveOutbox(keep)
	}
}

// The outbox is read again before every change: other tabs write it too.
func (ch *Chat) outbox() []outItem {
	v, _ := ch.c.storage.Load(ch.c.cfg.OutboxKey())
	list, _ := v["items"].([]any)
	out := make([]outItem, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		if id := str(m, "client_id"); id != "" {
			out = append(out, outItem{id: id, body: str(m, "body"), customer: str(m, "customer")})
		}
	}
	return out
}

func (ch *Chat) saveOutbox(items []outItem) {
	if len(items) == 0 {
		ch.c.storage.Delete(ch.c.cfg.OutboxKey())
		return
	}
	list := make([]any, len(items))
	for i, it := range items {
		list[i] = map[string]any{"client_id": it.id, "body": it.body, "customer": it.customer}
	}
	ch.c.storage.Save(ch.c.cfg.OutboxKey(), map[string]any{"v": float64(1), "items": list})
}

func (ch *Chat) addOutbox(it outItem) {
	items := ch.outbox()
	for _, o := range items {
		if o.id == it.id {
			return
		}
	}
	ch.saveOutbox(append(items, it))
}

func (ch *Chat) dropOutbox(id string) {
	items := ch.outbox()
	for i, o := range items {
		if o.id == id {
			ch.saveOutbox(append(items[:i], items[i+1:]...))
			return
		}
	}
}

func (ch *Chat) pendingLocked() []Message {
	var out []Message
	name := ""
	if cu := ch.c.GetCustomer(); cu != nil {
		name = cu.Name
	}
	for _, it := range ch.outbox() {
		if it.customer == ch.customer && ch.customer != "" {
			out = append(out, Message{Author: Author{Type: protocol.AuthorCustomer, ID: it.customer, Name: name},
				Body: it.body, ClientID: it.id, Pending: true})
		}
	}
	return out
}

func (ch *Chat) pendingChanged() { ch.emitLater("pending", MessageMaps(ch.pendingLocked())) }

// Pending returns the messages waiting in the outbox, oldest first.
func (ch *Chat) Pending() []Message {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.pendingLocked()
}

// Send queues text (trimmed, 1 to 4000 characters) and calls done once the
// server has stored it, or refused it. It waits in the outbox while
// disconnected, across reloads.
func (ch *Chat) Send(text string, done func(Message, error)) {
	body := strings.TrimSpace(text)
	if n := utf8.RuneCountInString(body); n == 0 || n > protocol.MaxBodyChars {
		done(Message{}, &Error{Message: "A message needs 1 to " + strconv.Itoa(protocol.MaxBodyChars) + " characters", Code: "invalid"})
		return
	}
	id := ch.env.NewID()
	var err error
	ch.do(func() {
		switch {
		case ch.fatal != nil:
			err = ch.fatal
		case !ch.wanted:
			err = &Error{Message: "Sign in before sending messages", Code: "unauthorized"}
		default:
			it := outItem{id: id, body: body, customer: ch.customer}
			ch.waiters[id] = done
			ch.addOutbox(it)
			ch.pendingChanged()
			ch.out(sendFrame(it))
		}
	})
	if err != nil {
		done(Message{}, err)
	}
}

// SendMessage is Send that blocks until the server stores or refuses it.
func (ch *Chat) SendMessage(text string) (Message, error) {
	type result struct {
		m   Message
		err error
	}
	res := make(chan result, 1)
	ch.Send(text, func(m Message, err error) { res <- result{m, err} })
	r := <-res
	return r.m, r.err
}

// HistoryQuery pages back through a ticket's messages.
type HistoryQuery struct {
	TicketID  string // "": the current ticket, or the server's latest
	BeforeSeq int64  // 0: the newest
	Limit     int    // 0: the server's default
}

// GetMessages fetches a page of history, ascending by seq, and merges it
// into the messages held. History raises no message events: those are for
// messages that arrive.
func (ch *Chat) GetMessages(q HistoryQuery) ([]Message, error) {
	ch.mu.Lock()
	if q.TicketID == "" {
		q.TicketID = ch.current
	}
	wanted := ch.wanted
	ch.mu.Unlock()
	if !wanted {
		return nil, &Error{Message: "Sign in before reading messages", Code: "unauthorized"}
	}
	path, sep := "/messages", "?"
	param := func(k, v string) {
		path += sep + k + "=" + queryEscape(v)
		sep = "&"
	}
	if q.TicketID != "" {
		param("ticket_id", q.TicketID)
	}
	if q.BeforeSeq > 0 {
		param("before_seq", strconv.FormatInt(q.BeforeSeq, 10))
	}
	if q.Limit > 0 {
		param("limit", strconv.Itoa(q.Limit))
	}
	env, err := ch.c.callEnvelope("GET", path, nil, true)
	if err != nil {
		return nil, err
	}
	list, _ := env["data"].([]any)
	out := make([]Message, 0, len(list))
	ch.do(func() {
		for _, v := range list {
			m, _ := v.(map[string]any)
			msg := messageFrom(m)
			out = append(out, msg)
			ch.add(msg, false)
		}
	})
	return out, nil
}

func (ch *Chat) unreadLocked() int {
	n := 0
	for _, t := range ch.tickets {
		for i := len(t.msgs) - 1; t.known && i >= 0 && t.msgs[i].Seq > t.readSeq; i-- {
			if t.msgs[i].Author.Type != protocol.AuthorCustomer {
				n++
			}
		}
	}
	return n
}

// UnreadCount is the number of messages held that the customer did not
// write and has not read.
func (ch *Chat) UnreadCount() int {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.unreadLocked()
}

// MarkRead marks every message held as read, locally at once, and tells
// the server the highest seq of each ticket that had unread messages (the
// current one first of all). Read positions marked while disconnected are
// sent after the next resume.
func (ch *Chat) MarkRead() {
	ch.do(func() {
		for id, t := range ch.tickets {
			s := t.maxSeq()
			if s <= t.readSeq {
				continue
			}
			t.readSeq = s
			f := map[string]any{"type": protocol.FrameRead, "ticket_id": id, "seq": float64(s)}
			ch.out(f)
			if ch.leader {
				ch.post("frame", map[string]any{"type": protocol.FrameRead, "ticket_id": id, "reader": protocol.AuthorCustomer, "seq": float64(s)})
			}
		}
	})
}

// SetTyping tells the agents whether the customer is typing: true at most
// every 3 seconds while it lasts, false once.
func (ch *Chat) SetTyping(on bool) {
	ch.do(func() {
		now := ch.env.Clock.Now()
		if on == ch.typingOn && (!on || now-ch.typingAt < typingEveryMs) {
			return
		}
		ch.typingOn, ch.typingAt = on, now
		ch.out(map[string]any{"type": protocol.FrameTyping, "typing": on})
	})
}

// queryEscape percent-encodes s for a query parameter (net/url would
// weigh more than this SDK's whole chat).
func queryEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
