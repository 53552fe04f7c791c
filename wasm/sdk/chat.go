package sdk

import (
	"strconv"
	"sync"

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

// Message is one chat message.
type Message struct {
	ID         string
	TicketID   string
	Seq        int64
	AuthorType string
	ClientID   string
	raw        map[string]any // as on the wire
}

// Map is the JS-facing shape {id, ticketId, seq, author: {type, id, name},
// body, clientId, createdAt}.
func (m Message) Map() map[string]any { return camel(m.raw) }

// MessageMaps is the JS-facing shape of a list of messages.
func MessageMaps(ms []Message) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m.Map()
	}
	return out
}

func messageFrom(m map[string]any) Message {
	return Message{ID: str(m, "id"), TicketID: str(m, "ticket_id"), Seq: num(m, "seq"), AuthorType: str(obj(m, "author"), "type"),
		ClientID: str(m, "client_id"), raw: m}
}

//go:noinline
func num(m map[string]any, k string) int64 {
	f, _ := m[k].(float64)
	return int64(f)
}

// kv builds an object from keys and values: one call instead of one map
// assignment per field keeps the module small.
//
//go:noinline
func kv(pairs ...any) map[string]any {
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return m
}

// camel is the JS shape of a wire object: its keys in camelCase
// (ticket_id becomes ticketId), nested objects too.
func camel(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if o, ok := v.(map[string]any); ok {
			v = camel(o)
		}
		b := []byte(k)
		n := 0
		for i := 0; i < len(b); i++ {
			if b[i] == '_' && i+1 < len(b) {
				i++
				b[i] -= 'a' - 'A'
			}
			b[n] = b[i]
			n++
		}
		out[string(b[:n])] = v
	}
	return out
}

// ticket is what the chat holds of one conversation.
type ticket struct {
	id, status string
	readSeq    int64
	known      bool           // the server told the read positions
	raw        map[string]any // as the server last sent it
	msgs       []Message      // ascending seq
}

//go:noinline
func (t *ticket) maxSeq() int64 {
	if n := len(t.msgs); n > 0 {
		return t.msgs[n-1].Seq
	}
	return 0
}

type typingTimer struct {
	gen   int
	stop  func()
	frame map[string]any
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
type Chat struct {
	c   *Client
	env ChatEnv

	mu        sync.Mutex
	later     []note
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

func (ch *Chat) do(f func()) {
	ch.mu.Lock()
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
	ch.mu.Lock()
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

func (ch *Chat) dial() {
	ch.closeSocket()
	gen := ch.gen
	ch.token = ch.c.session()
	ch.setState(StateConnecting)
	base := ch.c.cfg.APIBase
	if len(base) >= 4 && base[:4] == "http" {
		base = "ws" + base[4:] // http→ws, https→wss
	}
	ch.sock = ch.env.Dial(base+protocol.ChatPath+"?key="+ch.c.cfg.PublishableKey+"&v="+strconv.Itoa(protocol.ChatVersion),
		func(event string, f map[string]any, code int) { ch.socketEvent(gen, event, f, code) })
	if ch.sock == nil {
		ch.closed(1006)
	}
}

func (ch *Chat) socketEvent(gen int, event string, f map[string]any, code int) {
	ch.mu.Lock()
	if gen == ch.gen {
		switch event {
		case "open":
			ch.resume()
		case "frame":
			ch.post("frame", f)
			ch.handle(f, true)
		default:
			ch.closed(code)
		}
	}
	ch.unlock()
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
	ch.sock.Send(kv("type", protocol.FrameResume, "session", ch.token, "tickets", held))
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
		ch.later = append(ch.later, note{v: ch.token})
	case !protocol.Reconnect(code):
		ch.wanted = false
		ch.fatal = &Error{Message: "The chat refused this publishable key or SDK version", Code: "unauthorized"}
		ch.emitLater("error", ch.fatal)
		ch.settleAll(ch.fatal)
	case ch.wanted && ch.leader:
		ch.stopRetry = ch.timer(Backoff(ch.attempt, ch.env.Random()), timerRetry, "", ch.gen)
		ch.attempt++
	}
}

// Wake reconnects at once, without waiting for the backoff: the browser is
// back online or the page became visible.
func (ch *Chat) Wake() {
	ch.mu.Lock()
	switch {
	case !ch.wanted:
	case !ch.leader:
		ch.post("poke", nil)
	case ch.sock == nil:
		ch.dial()
	}
	ch.unlock()
}

func (ch *Chat) setState(s string) {
	if s == ch.state {
		return
	}
	ch.state = s
	ch.emitLater("connection", s)
	if ch.leader {
		ch.post("state", kv("state", s))
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
		ch.env.Tabs.Post(kv("k", kind, "d", d))
	}
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
			if own {
				ch.editOutbox(nil, id, false)
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

// event is the JS shape of a frame as an event payload.
//
//go:noinline
func event(f map[string]any) map[string]any {
	e := camel(f)
	delete(e, "type")
	delete(e, "ttlMs")
	return e
}

//go:noinline
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
func (ch *Chat) updateTicket(v any, catchUp bool) *ticket {
	m, _ := v.(map[string]any)
	t := ch.ticket(str(m, "id"))
	if t == nil {
		return nil
	}
	read := num(m, "customer_read_seq")
	if catchUp && t.readSeq > read {
		ch.sock.Send(kv("type", protocol.FrameRead, "ticket_id", t.id, "seq", float64(t.readSeq)))
	}
	t.raw, t.status, t.known = m, str(m, "status"), true
	t.readSeq = max(t.readSeq, read)
	ch.emitLater("ticket", camel(m))
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
	if emit {
		ch.emitLater("message", m.Map())
	}
	return true
}

//go:noinline
func (ch *Chat) settle(id string, m Message, err error) {
	if w := ch.waiters[id]; w != nil {
		delete(ch.waiters, id)
		ch.later = append(ch.later, note{done: w, m: m, err: err})
	}
}

func (ch *Chat) settleAll(err error) {
	for id := range ch.waiters {
		ch.settle(id, Message{}, err)
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
		wait := num(f, "retry_after_ms")
		if wait <= 0 {
			wait = 1000
		}
		ch.timer(wait, timerResend, "", ch.gen)
	default:
		if own {
			ch.editOutbox(nil, id, false)
		}
		ch.settle(id, Message{}, e)
	}
}

// typingFrame emits typing events, and typing: false itself when the
// indicator is not repeated within its ttl.
func (ch *Chat) typingFrame(f map[string]any) {
	a := obj(f, "author")
	key := str(f, "ticket_id") + "\x00" + str(a, "type") + "\x00" + str(a, "id") + "\x00" + str(a, "name")
	on, _ := f["typing"].(bool)
	old, had := ch.typing[key]
	if had {
		old.stop()
		delete(ch.typing, key)
	}
	if !on && !had {
		return
	}
	if on {
		ttl := num(f, "ttl_ms")
		if ttl <= 0 {
			ttl = protocol.TypingTTLMillis
		}
		ch.typingGen++
		gen := ch.typingGen
		ch.typing[key] = typingTimer{gen: gen, stop: ch.timer(ttl, timerTyping, key, gen), frame: f}
	}
	ch.emitLater("typing", event(f))
}

// recv handles a post of another tab.
func (ch *Chat) recv(msg map[string]any) {
	ch.mu.Lock()
	defer ch.unlock()
	{
		d := obj(msg, "d")
		follow := !ch.leader && ch.wanted
		switch str(msg, "k") {
		case "frame":
			if follow {
				ch.handle(d, false)
			}
		case "state":
			if follow {
				ch.setState(str(d, "state"))
			}
		case "snap":
			if !follow {
				return
			}
			ms, _ := d["messages"].([]any)
			for _, v := range ms {
				m, _ := v.(map[string]any)
				ch.add(messageFrom(m), true)
			}
			ts, _ := d["tickets"].([]any)
			for _, v := range ts {
				ch.updateTicket(v, false)
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
					ch.editOutbox(ch.outItem(d["client_id"], d["body"]), "", false)
				}
			}
			if ch.leader {
				ch.sendNow(d)
			}
		}
	}
}

// snapshot tells the other tabs everything this leader holds.
func (ch *Chat) snapshot() {
	var ms, ts []any
	for _, t := range ch.tickets {
		if t.raw != nil {
			ts = append(ts, t.raw)
		}
		for _, m := range t.msgs {
			ms = append(ms, m.raw)
		}
	}
	ch.post("snap", kv("state", ch.state, "current", ch.current, "tickets", ts, "messages", ms))
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

// sendFrame is the send frame of an outbox item.
//
//go:noinline
func sendFrame(it map[string]any) map[string]any {
	return kv("type", protocol.FrameSend, "client_id", it["client_id"], "body", it["body"])
}

// editOutbox reads the outbox again (other tabs write it too), drops the
// entry with client id drop and any another customer left behind on this
// browser, appends add unless it is there, sends every entry when send is
// set (after a resume), saves the result and returns it.
func (ch *Chat) editOutbox(add map[string]any, drop string, send bool) []any {
	v, _ := ch.c.storage.Load(ch.c.cfg.OutboxKey())
	list, _ := v["items"].([]any)
	keep := make([]any, 0, len(list)+1)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if id := str(m, "client_id"); id != "" && id != drop && str(m, "customer") == ch.customer {
			if add != nil && id == add["client_id"] {
				add = nil
			}
			keep = append(keep, m)
		}
	}
	if add != nil {
		keep = append(keep, add)
	}
	for _, e := range keep {
		if send {
			ch.sendNow(sendFrame(e.(map[string]any)))
		}
	}
	switch {
	case len(keep) == len(list):
	case len(keep) == 0:
		ch.c.storage.Delete(ch.c.cfg.OutboxKey())
	default:
		ch.c.storage.Save(ch.c.cfg.OutboxKey(), kv("v", float64(1), "items", keep))
	}
	return keep
}

// outItem is an outbox entry.
func (ch *Chat) outItem(id, body any) map[string]any {
	return kv("client_id", id, "body", body, "customer", ch.customer)
}

// Send queues text and calls done once the server has stored it, or
// refused it. The text is trimmed of ASCII white space (the JS bridge trims
// Unicode's first) and must keep 1 to 4000 characters. It waits in the
// outbox while disconnected, across reloads.
func (ch *Chat) Send(text string, done func(Message, error)) {
	for len(text) > 0 && text[0] <= ' ' {
		text = text[1:]
	}
	for len(text) > 0 && text[len(text)-1] <= ' ' {
		text = text[:len(text)-1]
	}
	n := 0
	for range text {
		n++
	}
	if n == 0 || n > protocol.MaxBodyChars {
		done(Message{}, &Error{Message: "A message needs 1 to 4000 characters", Code: "invalid"})
		return
	}
	id := ch.env.NewID()
	ch.mu.Lock()
	ch.waiters[id] = done
	switch {
	case ch.fatal != nil:
		ch.settle(id, Message{}, ch.fatal)
	case !ch.wanted:
		ch.settle(id, Message{}, &Error{Message: "Sign in before sending messages", Code: "unauthorized"})
	default:
		it := ch.outItem(id, text)
		ch.editOutbox(it, "", false)
		ch.out(sendFrame(it))
	}
	ch.unlock()
}

// SendMessage is Send that blocks until the server stores or refuses it.
func (ch *Chat) SendMessage(text string) (Message, error) {
	var m Message
	var err error
	done := make(chan struct{})
	ch.Send(text, func(rm Message, rerr error) {
		m, err = rm, rerr
		close(done)
	})
	<-done
	return m, err
}

// HistoryQuery pages back through a ticket's messages.
type HistoryQuery struct {
	TicketID  string // "": the current ticket, or the server's latest
	BeforeSeq int    // 0: the newest
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
	if q.Limit <= 0 {
		q.Limit = 50
	}
	// Ticket ids are UUIDs, which need no escaping.
	path := "/messages?limit=" + strconv.Itoa(q.Limit)
	if q.TicketID != "" {
		path += "&ticket_id=" + q.TicketID
	}
	if q.BeforeSeq > 0 {
		path += "&before_seq=" + strconv.Itoa(q.BeforeSeq)
	}
	env, err := ch.c.callEnvelope("GET", path, nil, true)
	if err != nil {
		return nil, err
	}
	list, _ := env["data"].([]any)
	out := make([]Message, 0, len(list))
	ch.mu.Lock()
	for _, v := range list {
		m, _ := v.(map[string]any)
		msg := messageFrom(m)
		out = append(out, msg)
		ch.add(msg, false)
	}
	ch.unlock()
	return out, nil
}

//go:noinline
func (ch *Chat) unreadLocked() int {
	n := 0
	for _, t := range ch.tickets {
		for i := len(t.msgs) - 1; t.known && i >= 0 && t.msgs[i].Seq > t.readSeq; i-- {
			if t.msgs[i].AuthorType != protocol.AuthorCustomer {
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
// current one above all). Read positions marked while disconnected are
// sent after the next resume.
func (ch *Chat) MarkRead() {
	ch.mu.Lock()
	for id, t := range ch.tickets {
		s := t.maxSeq()
		if s <= t.readSeq {
			continue
		}
		t.readSeq = s
		ch.out(kv("type", protocol.FrameRead, "ticket_id", id, "seq", float64(s)))
		if ch.leader {
			ch.post("frame", kv("type", protocol.FrameRead, "ticket_id", id, "reader", protocol.AuthorCustomer, "seq", float64(s)))
		}
	}
	ch.unlock()
}

// SetTyping tells the agents whether the customer is typing: true at most
// every 3 seconds while it lasts, false once.
func (ch *Chat) SetTyping(on bool) {
	ch.mu.Lock()
	if now := ch.env.Clock.Now(); on != ch.typingOn || on && now-ch.typingAt >= typingEveryMs {
		ch.typingOn, ch.typingAt = on, now
		ch.out(kv("type", protocol.FrameTyping, "typing", on))
	}
	ch.unlock()
}
