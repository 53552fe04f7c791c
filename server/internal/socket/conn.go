package socket

import (
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/protocol"
)

// Timings are the websocket heartbeat, deadlines and queue length; tests
// shorten them.
type Timings struct {
	Ping       time.Duration // how often the server pings
	PongWait   time.Duration // how long a connection may stay silent (no pong, no frame)
	WriteWait  time.Duration // how long one write may take
	ResumeWait time.Duration // how long the server waits for the first frame
	QueueLen   int           // frames a connection may have waiting before it counts as too slow
	// Sweep is how often connections whose key or session has ended are
	// looked for; it bounds how late such a connection closes.
	Sweep time.Duration
}

// DefaultTimings suit browsers behind proxies that drop idle connections
// after a minute.
var DefaultTimings = Timings{Ping: 25 * time.Second, PongWait: 60 * time.Second,
	WriteWait: 10 * time.Second, ResumeWait: 10 * time.Second, QueueLen: 32, Sweep: 250 * time.Millisecond}

// NewUpgrader keeps about 1 KiB of read buffer per connection and shares
// write buffers between connections, since idle connections write nothing.
// It accepts every origin: the HTTP edge checks the origin against the
// team's list before it upgrades.
func NewUpgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     func(*http.Request) bool { return true },
	}
}

// Refuse closes a just-upgraded connection with code: the way to refuse a
// browser, which cannot read a refused handshake's status.
func (s *Server) Refuse(ws *websocket.Conn, code int, reason string) {
	newConn(s, ws, "").closeNow(code, reason)
}

// withDefaults fills the fields left zero from DefaultTimings.
func (t Timings) withDefaults() Timings {
	d := DefaultTimings
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&t.Ping, d.Ping}, {&t.PongWait, d.PongWait}, {&t.WriteWait, d.WriteWait}, {&t.ResumeWait, d.ResumeWait}, {&t.Sweep, d.Sweep}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	if t.QueueLen <= 0 {
		t.QueueLen = d.QueueLen
	}
	return t
}

// outItem is one thing for a connection's writer: an event from the hub, or
// something from the connection itself. It is two words, so that a queue of
// QueueLen costs little on an idle connection.
type outItem struct {
	ev *chat.Event
	d  *direct
}

// direct is a frame from the connection's own reader, a stored message to
// acknowledge, or a ping.
type direct struct {
	frame any
	// ack is a stored message to acknowledge to the sender of clientID.
	ack      *chat.Message
	clientID string
	ping     bool
}

// conn is the part common to the widget channel and the agents' stream: a
// reader goroutine, a writer, a bounded queue, heartbeats, and closing with
// a code. Only the writer writes.
//
// The writer is a goroutine that runs while the queue holds something and
// exits when it is empty, so that an idle connection costs one parked
// reader and no writer stack (HOUSE.md draws one writer per connection; this
// is the same rule, paid for only while frames wait). At most one runs at a
// time (the running flag), and until run is called the goroutine that
// replays the history is the writer.
type conn struct {
	srv     *Server
	ws      *websocket.Conn
	t       *Timings // the server's
	keyID   string   // the API key the connection was opened with
	out     chan outItem
	running atomic.Bool
	closeC  chan struct{}
	once    sync.Once
	code    int // 0: the reader stopped; close without a frame
	reason  string
	// readDone is closed when the reader stops.
	readDone chan struct{}
	finished atomic.Bool
	pinger   *time.Timer
	// onPing runs with each ping, from the timer: the widget checks its
	// session's expiry there, so that no timer of its own waits for it.
	onPing func()
	handle func(outItem) error
	done   func()
}

func newConn(s *Server, ws *websocket.Conn, keyID string) *conn {
	c := &conn{srv: s, ws: ws, t: &s.t, keyID: keyID, out: make(chan outItem, s.t.QueueLen), closeC: make(chan struct{}),
		readDone: make(chan struct{})}
	c.running.Store(true) // the replaying goroutine writes until run
	return c
}

var pingItem = outItem{d: &direct{ping: true}}

// Offer implements realtime.Subscriber; it never blocks. The end of the
// connection's API key closes it (at once, or at the end of a roll's grace)
// without going through the queue.
func (c *conn) Offer(ev *chat.Event) {
	if ev.Type == chat.KeyEnded {
		if ev.KeyID == c.keyID {
			c.srv.closeAt(c, ev.CreatedAt, protocol.CloseInvalidKey, "API key revoked or expired")
		}
		return
	}
	c.enqueue(outItem{ev: ev})
}

// endWithKey closes c when its key k expires, if it has an expiry already
// (a key rolled with a grace before the connection opened).
func (c *conn) endWithKey(k apikey.Key) {
	if k.ExpiresAt != nil {
		c.srv.closeAt(c, *k.ExpiresAt, protocol.CloseInvalidKey, "API key revoked or expired")
	}
}

// enqueue queues it for the writer. A durable event (or a frame of the
// connection's own) that finds the queue full closes the connection with a
// reconnect code: the client resumes and misses nothing. An ephemeral event
// (typing, a read position) is dropped instead once the queue is half full,
// so that a flood of them can neither close a slow consumer nor crowd out
// the durable ones.
func (c *conn) enqueue(it outItem) {
	if it.ev != nil && droppable(it.ev) && len(c.out) >= cap(c.out)/2 {
		return
	}
	select {
	case c.out <- it:
		c.kick()
	default:
		c.Close(protocol.CloseTooSlow, "too slow: reconnect")
	}
}

// droppable events are hints whose loss the next one corrects.
func droppable(ev *chat.Event) bool { return ev.Type == chat.Typing || ev.Type == chat.Read }

// kick starts a writer unless one runs.
func (c *conn) kick() {
	if c.running.CompareAndSwap(false, true) {
		go c.writeLoop()
	}
}

// Close implements realtime.Subscriber: the writer sends the close frame.
func (c *conn) Close(code int, reason string) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.closeC)
	})
	c.kick()
}

func (c *conn) enqueueFrame(f any) { c.enqueue(outItem{d: &direct{frame: f}}) }

// write sends one JSON frame with the write deadline.
func (c *conn) write(v any) error {
	c.ws.SetWriteDeadline(time.Now().Add(c.t.WriteWait))
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(w).Encode(v); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// closeNow sends a close frame and closes the socket. It is for the
// goroutine that sets the connection up, before run.
func (c *conn) closeNow(code int, reason string) {
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(c.t.WriteWait))
	c.ws.Close()
}

// run starts the reader, hands writing over to the queue's writer and
// returns at once, so that the setting-up goroutine's stack is gone. handle
// runs in the writer for each queued item; read in the reader for each
// frame; done once the connection is over, after both stopped.
func (c *conn) run(handle func(outItem) error, read func([]byte) error, done func()) {
	c.handle, c.done = handle, done
	c.ws.SetReadLimit(protocol.MaxFrameBytes)
	c.ws.SetReadDeadline(time.Now().Add(c.t.PongWait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(c.t.PongWait)) })
	go c.readLoop(read)
	// Pings go through the queue from a timer, so that no goroutine waits
	// for them.
	c.pinger = time.AfterFunc(c.t.Ping, func() {
		select {
		case <-c.closeC:
			return // closed: stop re-arming
		default:
		}
		c.enqueue(pingItem)
		if c.onPing != nil {
			c.onPing()
		}
		c.pinger.Reset(c.t.Ping)
	})
	// The setting-up goroutine stops being the writer; whatever queued
	// meanwhile is written by a writer goroutine.
	go c.writeLoop()
}

func (c *conn) readLoop(read func([]byte) error) {
	defer c.Close(0, "")
	defer close(c.readDone)
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.Close(protocol.CloseHeartbeat, "no pong")
			}
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(c.t.PongWait))
		if typ != websocket.TextMessage {
			c.Close(protocol.CloseProtocol, "text frames only")
			return
		}
		if err := read(data); err != nil {
			c.Close(protocol.CloseProtocol, err.Error())
			return
		}
	}
}

// writeLoop drains the queue, then exits; it is started with running set.
func (c *conn) writeLoop() {
	for {
		if c.finished.Load() {
			c.running.Store(false)
			return
		}
		select {
		case <-c.closeC:
			c.finish()
			c.running.Store(false)
			return
		default:
		}
		select {
		case it := <-c.out:
			var err error
			if it.d != nil && it.d.ping {
				err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.t.WriteWait))
			} else {
				err = c.handle(it)
			}
			if err != nil {
				c.Close(0, "") // the socket is broken: no close frame
			}
		case <-c.closeC:
		default:
			c.running.Store(false)
			// Something may have been queued (or the connection closed)
			// after the queue looked empty and before running was cleared;
			// its kick saw a writer running, so this one goes on.
			if len(c.out) == 0 && !c.isClosed() {
				return
			}
			if !c.running.CompareAndSwap(false, true) {
				return // another writer took over
			}
		}
	}
}

func (c *conn) isClosed() bool {
	select {
	case <-c.closeC:
		return true
	default:
		return false
	}
}

// finish sends the close frame (unless the reader stopped first), closes
// the socket and waits for the reader, once.
func (c *conn) finish() {
	if !c.finished.CompareAndSwap(false, true) {
		return
	}
	if c.pinger != nil {
		c.pinger.Stop()
	}
	if c.code != 0 {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.code, c.reason),
			time.Now().Add(c.t.WriteWait))
		// Give the client a moment to answer the close before the socket
		// goes, unless the reader has already stopped.
		select {
		case <-c.readDone:
		case <-time.After(time.Second):
		}
	}
	c.ws.Close() // stops the reader, if it still runs
	<-c.readDone
	if c.done != nil {
		c.done()
	}
}
