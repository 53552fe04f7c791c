package httpapi

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/protocol"
)

// ChatTimings are the websocket heartbeat and deadlines; tests shorten them.
type ChatTimings struct {
	Ping       time.Duration // how often the server pings
	PongWait   time.Duration // how long a connection may stay silent (no pong, no frame)
	WriteWait  time.Duration // how long one write may take
	ResumeWait time.Duration // how long the server waits for the first frame
	QueueLen   int           // frames a connection may have waiting before it counts as too slow
}

// DefaultChatTimings suit browsers behind proxies that drop idle
// connections after a minute.
var DefaultChatTimings = ChatTimings{Ping: 25 * time.Second, PongWait: 60 * time.Second,
	WriteWait: 10 * time.Second, ResumeWait: 10 * time.Second, QueueLen: 64}

// upgrader keeps about 1 KiB of read buffer per connection and shares write
// buffers between connections, since idle connections write nothing.
func newUpgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{},
		// Origins are checked against the team's list before the upgrade.
		CheckOrigin: func(*http.Request) bool { return true },
	}
}

// Hijack lets the websocket handlers take over the connection through the
// logging and routing wrappers.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// Hijack implements http.Hijacker.
func (e *envelopeMux) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(e.ResponseWriter).Hijack()
}

// Unwrap exposes the wrapped writer to http.ResponseController.
func (e *envelopeMux) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// outItem is one thing for a connection's writer: an event from the hub,
// or a frame from its own reader.
type outItem struct {
	ev    *chat.Event
	frame any
	// ack is a stored message to acknowledge to the sender (clientID).
	ack      *chat.Message
	clientID string
}

// wsConn is the part common to the widget channel and the agents' stream:
// one reader and one writer goroutine, a bounded queue, heartbeats, and
// closing with a code. Only the writer writes (gorilla's WriteControl,
// which may run beside it, is used for nothing else).
type wsConn struct {
	ws     *websocket.Conn
	t      ChatTimings
	out    chan outItem
	closeC chan struct{}
	once   sync.Once
	code   int
	reason string
	// readDone is closed when the reader stops.
	readDone chan struct{}
}

func newWSConn(ws *websocket.Conn, t ChatTimings) *wsConn {
	return &wsConn{ws: ws, t: t, out: make(chan outItem, t.QueueLen), closeC: make(chan struct{}),
		readDone: make(chan struct{})}
}

// Offer implements realtime.Subscriber; it never blocks.
func (c *wsConn) Offer(ev *chat.Event) { c.enqueue(outItem{ev: ev}) }

func (c *wsConn) enqueue(it outItem) {
	select {
	case c.out <- it:
	default:
		c.Close(protocol.CloseTooSlow, "too slow: reconnect")
	}
}

// Close implements realtime.Subscriber: the writer sends the close frame.
func (c *wsConn) Close(code int, reason string) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.closeC)
	})
}

// write sends one JSON frame with the write deadline.
func (c *wsConn) write(v any) error {
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
// handler, before the goroutines run.
func (c *wsConn) closeNow(code int, reason string) {
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(c.t.WriteWait))
	c.ws.Close()
}

// run starts the reader and the writer and returns at once, so that an idle
// connection holds two small goroutines and no handler stack. handle runs
// in the writer for each queued item; read in the reader for each frame;
// done, in the writer, once both have stopped.
func (c *wsConn) run(handle func(outItem) error, read func([]byte) error, done func()) {
	c.ws.SetReadLimit(protocol.MaxFrameBytes)
	c.ws.SetReadDeadline(time.Now().Add(c.t.PongWait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(c.t.PongWait)) })
	go func() {
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
	}()
	go func() {
		ping := time.NewTicker(c.t.Ping)
		defer func() {
			ping.Stop()
			c.ws.Close() // stops the reader, if it still runs
			<-c.readDone
			done()
		}()
		for {
			select {
			case it := <-c.out:
				if err := handle(it); err != nil {
					return
				}
			case <-ping.C:
				if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.t.WriteWait)); err != nil {
					return
				}
			case <-c.closeC:
				c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.code, c.reason),
					time.Now().Add(c.t.WriteWait))
				// Give the client a moment to answer the close before the
				// socket goes, unless the reader has already stopped.
				select {
				case <-c.readDone:
				case <-time.After(time.Second):
				}
				return
			case <-c.readDone:
				return
			}
		}
	}()
}
