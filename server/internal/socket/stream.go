package socket

import (
	"context"
	"errors"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/wire"
	"github.com/cstar-chat/cstar/server/protocol"
)

// stream is an agent's or an integration's realtime stream.
type stream struct {
	*conn
	sc  scope.Scope
	pos int64 // the last position sent; only the writer uses it
}

// StreamStart is where a stream of sc starts: after itself when the
// client resumes (never past the head), else the head, so that a new stream
// gets only live events. A resume from before the oldest event still kept
// starts at the head with reset set: the client must reload. It runs
// before the upgrade, so that a database failure is still an HTTP error.
func (s *Server) StreamStart(ctx context.Context, sc scope.Scope, after int64, resume bool) (pos int64, reset bool, err error) {
	head, err := s.chat.Head(ctx, sc)
	if err != nil || !resume {
		return head, false, err
	}
	oldest, err := s.chat.Oldest(ctx, sc)
	if err != nil {
		return 0, false, err
	}
	if after+1 < oldest && after < head {
		return head, true, nil
	}
	return min(after, head), false, nil
}

// ServeStream runs the agents' stream of secret key k's team and mode on an
// upgraded connection: the durable events after pos first, then live ones,
// each position once and in order. It returns once the connection runs; it
// closes when the key ends.
func (s *Server) ServeStream(ctx context.Context, ws *websocket.Conn, k apikey.Key, pos int64, reset bool) {
	sc := k.Scope()
	st := &stream{conn: newConn(s, ws, k.ID), sc: sc, pos: pos}
	if reset {
		if err := st.write(protocol.StreamEvent{Type: protocol.EventReset, Pos: pos}); err != nil {
			ws.Close()
			return
		}
	}
	unsubscribe := s.hub.SubscribeTeam(sc, st)
	// Replay up to the head as read after subscribing; later events come
	// live, and the writer fills any gap.
	head, err := s.chat.Head(ctx, sc)
	if err == nil {
		err = st.fill(ctx, head)
	}
	if err == nil {
		err = st.write(protocol.StreamEvent{Type: protocol.EventReady, Pos: st.pos})
	}
	if err != nil {
		unsubscribe()
		st.closeNow(protocol.CloseRestart, "try again")
		return
	}
	// Agents send nothing on the stream; their frames are read and dropped
	// so that pongs and closes are seen.
	st.endWithKey(k)
	st.run(st.handle, func([]byte) error { return nil }, unsubscribe)
}

// fill sends the durable events after st.pos up to upto.
func (st *stream) fill(ctx context.Context, upto int64) error {
	load := func(ctx context.Context, after int64, limit int) ([]chat.Event, error) {
		return st.srv.chat.EventsAfter(ctx, st.sc, after, limit)
	}
	send := func(ev chat.Event) error {
		if err := st.write(wire.StreamEvent(ev)); err != nil {
			return err
		}
		st.pos = ev.Pos
		return nil
	}
	_, err := fillGap(ctx, st.pos, upto, load, func(ev chat.Event) int64 { return ev.Pos }, send)
	return err
}

func (st *stream) handle(it outItem) error {
	ev := it.ev
	if ev == nil {
		return st.write(it.d.frame)
	}
	if ev.Pos == 0 {
		return st.write(wire.StreamEvent(*ev))
	}
	if ev.Pos <= st.pos {
		return nil
	}
	if ev.Pos > st.pos+1 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := st.fill(ctx, ev.Pos-1); err != nil {
			if errors.Is(err, errLoad) {
				st.srv.logErr(ctx, "realtime stream: fill a gap", err)
				st.Close(protocol.CloseRestart, "try again")
			}
			return err
		}
	}
	st.pos = ev.Pos
	return st.write(wire.StreamEvent(*ev))
}
