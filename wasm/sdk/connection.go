package sdk

import (
	"strconv"

	"github.com/cstar-chat/cstar/server/protocol"
)

// Reconnect backoff, in milliseconds.
const (
	backoffBaseMs = 500
	backoffMaxMs  = 30000
)

// Connection states, as the connection event reports them.
const (
	StateConnecting = "connecting"
	StateOpen       = "open"
	StateClosed     = "closed"
)

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
	ch.lock()
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

// Wake reconnects at once, without waiting for the backoff: the browser is
// back online or the page became visible.
func (ch *Chat) Wake() {
	ch.lock()
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
