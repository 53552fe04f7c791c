package sdk

import (
	"sync"

	"github.com/cstar-chat/cstar/server/protocol"
)

// Socket is one websocket. Frames are JSON objects; the bridge encodes and
// decodes them. Neither method may call the SocketEvents synchronously.
type Socket interface {
	Send(frame map[string]any)
	Close()
}

// Dialer opens a websocket at url, or returns nil when it cannot even try.
// It reports to on, always asynchronously, "open", then every "frame",
// then one "close" with its code.
type Dialer func(url string, on func(event string, frame map[string]any, code int)) Socket

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

// note is an event or a settled send, delivered once mu is released; an
// empty event clears the session v, if it is still the one held.
type note struct {
	event string
	v     any
	done  func(Message, error)
	m     Message
	err   error
}

// Timer kinds.
const (
	timerRetry  = iota // reconnect
	timerResend        // a rate-limited send
	timerTyping        // a typing indicator expires, key its author
)

// Chat is the live chat of the signed-in customer. One tab of the browser
// (the leader) holds the websocket and relays its frames to the others;
// messages are deduplicated by id and by ticket and seq, and messages
// waiting for a connection live in an outbox in storage, shared by the tabs
// and kept across reloads.
//
// Its fields are grouped by the file whose code keeps them, all guarded by
// mu. They stay in one struct: a type per group would weigh more in the
// module than it saves in reading.
type Chat struct {
	c   *Client
	env ChatEnv

	mu       sync.Mutex
	later    []note
	leader   bool   // this tab holds the websocket
	wanted   bool   // a customer is signed in: stay connected
	fatal    *Error // the server refused the key or the protocol version
	customer string // whose messages are held

	// connection.go: the websocket.
	state     string
	sock      Socket
	token     string // the session the socket resumed
	gen       int    // which socket and retry the callbacks belong to
	ready     bool   // the replay after the resume is done
	attempt   int    // reconnects since the last ready
	stopRetry func()

	// outbox.go: the sends.
	inflight map[string]bool // client ids sent on this connection
	waiters  map[string]func(Message, error)
	// mine are this follower's sends not yet acknowledged: only the leader
	// writes the outbox (tabs writing it at once could drop an entry), so
	// a follower hands them to each new leader.
	mine    map[string]any // client id → outbox item
	refusal int            // unavailable refusals since the last ack, for the backoff
	// held is set by a refusal: the outbox then goes one message at a
	// time, in order, until it empties, so that a later message is never
	// stored before an earlier one that waits for its retry.
	held bool

	// messages.go and unread.go: the customer's tickets.
	seen    map[string]bool // message ids
	tickets map[string]*ticket
	current string // the ticket the customer is chatting in
	unread  int    // as last emitted

	// typing.go: the others' indicators and the customer's own.
	typing    map[string]typingTimer // by ticket and author
	typingGen int
	typingOn  bool  // the customer's, as last sent
	typingAt  int64 // when it was sent
}

// NewChat returns the chat of client c; Start connects it.
func NewChat(c *Client, env ChatEnv) *Chat {
	ch := &Chat{c: c, env: env, state: StateClosed, waiters: map[string]func(Message, error){}, mine: map[string]any{}}
	ch.forget()
	return ch
}

// Start joins the other tabs, connects once a customer is signed in or an
// anonymous visitor exists, and disconnects when neither does.
func (ch *Chat) Start() {
	for _, e := range []string{"identified", "logout", "visitor"} {
		ch.c.On(e, func(any) { ch.do(ch.restart) })
	}
	if ch.env.Tabs == nil {
		ch.do(ch.lead)
	} else {
		ch.env.Tabs.Join(ch.recv, func() { ch.do(ch.lead) })
	}
	if ch.c.principal() != "" {
		ch.do(ch.restart)
	}
}

// lock takes mu; unlock releases it and delivers what was queued meanwhile.
//
//go:noinline
func (ch *Chat) lock() { ch.mu.Lock() }

func (ch *Chat) do(f func()) {
	ch.lock()
	f()
	ch.unlock()
}

// unlock releases mu, then delivers the events and settled sends queued
// meanwhile, after an unread event when the count changed: handlers may
// call the chat again.
func (ch *Chat) unlock() {
	if n := ch.unreadLocked(); n != ch.unread {
		ch.unread = n
		ch.emitLater("unread", n)
	}
	later := ch.later
	ch.later = nil
	ch.mu.Unlock()
	for _, n := range later {
		switch {
		case n.done != nil:
			n.done(n.m, n.err)
		case n.event != "":
			ch.c.emit(n.event, n.v)
		case n.v == any(ch.c.session()):
			ch.c.clear() // emits logout, as a 401 does
		}
	}
}

//go:noinline
func (ch *Chat) emitLater(event string, v any) {
	ch.later = append(ch.later, note{event: event, v: v})
}

// timer calls fire with kind and key in ms.
func (ch *Chat) timer(ms int64, kind int, key string, gen int) func() {
	return ch.env.Clock.AfterFunc(ms, func() { ch.fire(kind, key, gen) })
}

func (ch *Chat) fire(kind int, key string, gen int) {
	ch.lock()
	switch {
	case kind == timerTyping:
		if t, ok := ch.typing[key]; ok && t.gen == gen {
			delete(ch.typing, key)
			e := event(t.frame)
			e["typing"] = false
			ch.emitLater("typing", e)
		}
	case gen != ch.gen: // another connection
	case kind == timerRetry:
		ch.stopRetry = nil
		if ch.wanted {
			ch.dial()
		}
	default:
		ch.editOutbox(nil, "", true) // sends what is not in flight: the refused one
	}
	ch.unlock()
}

func (ch *Chat) lead() {
	ch.leader = true
	// What this tab sent as a follower goes to the outbox it now keeps.
	for _, it := range ch.mine {
		ch.editOutbox(it.(map[string]any), "", false)
	}
	ch.mine = map[string]any{}
	ch.post("lead", nil)
	if ch.wanted && ch.sock == nil {
		ch.attempt = 0
		ch.dial()
	}
}

// restart follows a sign-in, a new visitor or a sign-out: a new session
// needs a new connection, and none means no chat.
func (ch *Chat) restart() {
	id := ch.c.principal()
	if id == "" {
		ch.stop()
		return
	}
	if prev := ch.customer; id != prev {
		ch.forget()
		ch.customer = id
		if prev != "" && prev == ch.c.mergedFrom() {
			// The visitor's conversation is the customer's now, and so
			// are its messages waiting to be sent.
			v, _ := ch.c.storage.Load(ch.c.cfg.OutboxKey())
			list, _ := v["items"].([]any)
			for _, e := range list {
				if m, _ := e.(map[string]any); str(m, "customer") == prev {
					m["customer"] = id
				}
			}
			if len(list) > 0 {
				ch.c.storage.Save(ch.c.cfg.OutboxKey(), v)
			}
		}
	}
	ch.wanted, ch.fatal = true, nil
	if ch.leader {
		ch.attempt = 0
		ch.dial()
		// A follower's send that arrived before this tab knew of the
		// customer (a visitor another tab just created) is posted again.
		ch.post("lead", nil)
	} else {
		ch.post("hello", nil)
	}
}

// stop follows a sign-out: the connection, the messages, the outbox and the
// waiting sends all go.
func (ch *Chat) stop() {
	ch.wanted = false
	ch.closeSocket()
	ch.setState(StateClosed)
	ch.settleAll(&Error{Message: "Signed out", Code: "unauthorized"})
	ch.c.storage.Delete(ch.c.cfg.OutboxKey())
	ch.forget()
	ch.customer = ""
}

func (ch *Chat) forget() {
	for _, t := range ch.typing {
		t.stop()
	}
	ch.tickets, ch.seen, ch.typing = map[string]*ticket{}, map[string]bool{}, map[string]typingTimer{}
	ch.current, ch.typingOn, ch.inflight = "", false, map[string]bool{}
}

// handle applies a server frame; own frames come from this tab's socket,
// the others were relayed by the leader.
func (ch *Chat) handle(f map[string]any, own bool) {
	typ := str(f, "type")
	switch typ {
	case protocol.FrameMessage, protocol.FrameAck:
		m := messageFrom(obj(f, "message"))
		if ch.add(m, true) {
			ch.current = m.TicketID
		}
		if typ == protocol.FrameAck {
			id := str(f, "client_id")
			delete(ch.inflight, id)
			delete(ch.mine, id)
			if own {
				ch.refusal = 0
				ch.editOutbox(nil, id, ch.held) // held: the next one goes
			}
			ch.settle(id, m, nil)
		}
	case protocol.FrameReady:
		list, _ := f["tickets"].([]any)
		for _, v := range list {
			if t := ch.updateTicket(v, own); t != nil && t.status != "closed" {
				ch.current = t.id
			}
		}
		if own {
			ch.ready, ch.attempt = true, 0
			ch.setState(StateOpen)
			ch.editOutbox(nil, "", true)
		}
	case protocol.FrameTicket:
		ch.updateTicket(f["ticket"], false)
	case protocol.FrameRead:
		t := ch.ticket(str(f, "ticket_id"))
		if t == nil {
			break
		}
		if str(f, "reader") == protocol.AuthorCustomer {
			t.readSeq = max(t.readSeq, num(f, "seq"))
			break
		}
		// The agents' read position reaches the page as a ticket event.
		if t.raw == nil {
			t.raw = kv("id", t.id)
		}
		t.raw["agent_read_seq"] = f["seq"]
		ch.emitLater("ticket", camel(t.raw))
	case protocol.FrameTyping:
		ch.typingFrame(f)
	case protocol.FrameError:
		ch.refused(f, own)
	}
}
