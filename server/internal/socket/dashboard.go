package socket

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/wire"
	"github.com/cstar-chat/cstar/server/protocol"
)

// Agent is the signed-in agent a dashboard connection belongs to.
type Agent struct {
	Scope     scope.Scope
	ID        string
	Name      string
	SessionID string
	// Until is when the session ends unless used; then Recheck looks it up
	// again (another tab may have used it) and returns its new end, or an
	// errs.Unauthorized error once it has ended.
	Until   time.Time
	Recheck func(ctx context.Context) (time.Time, error)
}

// DashboardRead is the frame of a read position (the customer's or the
// agents'), which the agents' stream does not carry.
type DashboardRead struct {
	Type     string `json:"type"` // "read"
	TicketID string `json:"ticket_id"`
	Reader   string `json:"reader"`
	Seq      int64  `json:"seq"`
}

// dashboardFrame is what a dashboard sends: its agent typing in a ticket.
type dashboardFrame struct {
	Type     string `json:"type"`
	TicketID string `json:"ticket_id"`
	Typing   bool   `json:"typing"`
}

// dashboard is an agent's open dashboard: the agents' stream of its team
// and mode (events by position, resumable, gaps filled), plus read
// positions, and the agent's own typing going the other way. It closes
// when its session ends (sign-out, removal, expiry) on any process.
type dashboard struct {
	*conn
	a       Agent
	pos     int64 // the last position sent; only the writer uses it
	signals budget
}

// ServeDashboard runs an agent's dashboard on an upgraded connection: the
// durable events after pos first, then live ones, each position once and
// in order; with reset, a reset frame first (the client reloads). It
// returns once the connection runs.
func (s *Server) ServeDashboard(ctx context.Context, ws *websocket.Conn, a Agent, pos int64, reset bool) {
	d := &dashboard{conn: newConn(s, ws, ""), a: a, pos: pos}
	if reset {
		if err := d.write(protocol.StreamEvent{Type: protocol.EventReset, Pos: pos}); err != nil {
			ws.Close()
			return
		}
	}
	unsubscribe := s.hub.SubscribeAgents(a.Scope, d)
	head, err := s.chat.Head(ctx, a.Scope)
	if err == nil {
		err = d.fill(ctx, head)
	}
	if err == nil {
		err = d.write(protocol.StreamEvent{Type: protocol.EventReady, Pos: d.pos})
	}
	if err != nil {
		unsubscribe()
		d.closeNow(protocol.CloseRestart, "try again")
		return
	}
	if a.Recheck != nil {
		s.at(d.conn, a.Until, d.recheck)
	}
	d.run(d.handle, d.read, unsubscribe)
}

// recheck runs at the session's end as last known: it closes the
// connection once the session has ended, else looks again at the new end.
func (d *dashboard) recheck(ctx context.Context) time.Time {
	until, err := d.a.Recheck(ctx)
	switch {
	case errs.Is(err, errs.Unauthorized):
		d.Close(protocol.CloseSessionInvalid, "signed out")
		return time.Time{}
	case err != nil:
		return d.srv.now().Add(time.Minute) // the database may answer later
	}
	return until
}

func (d *dashboard) fill(ctx context.Context, upto int64) error {
	load := func(ctx context.Context, after int64, limit int) ([]chat.Event, error) {
		return d.srv.chat.EventsAfter(ctx, d.a.Scope, after, limit)
	}
	send := func(ev chat.Event) error {
		if err := d.write(wire.StreamEvent(ev)); err != nil {
			return err
		}
		d.pos = ev.Pos
		return nil
	}
	_, err := fillGap(ctx, d.pos, upto, load, func(ev chat.Event) int64 { return ev.Pos }, send)
	return err
}

func (d *dashboard) handle(it outItem) error {
	ev := it.ev
	if ev == nil {
		return d.write(it.d.frame)
	}
	switch ev.Type {
	case chat.AgentEnded:
		if ev.Author.ID == d.a.ID && (ev.SessionID == "" || ev.SessionID == d.a.SessionID) {
			d.Close(protocol.CloseSessionInvalid, "signed out")
		}
		return nil
	case chat.Read:
		return d.write(DashboardRead{Type: chat.Read, TicketID: ev.TicketID, Reader: ev.Reader, Seq: ev.Seq})
	}
	if ev.Pos == 0 {
		return d.write(wire.StreamEvent(*ev))
	}
	if ev.Pos <= d.pos {
		return nil
	}
	if ev.Pos > d.pos+1 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.fill(ctx, ev.Pos-1); err != nil {
			if errors.Is(err, errLoad) {
				d.srv.logErr(ctx, "dashboard: fill a gap", err)
				d.Close(protocol.CloseRestart, "try again")
			}
			return err
		}
	}
	d.pos = ev.Pos
	return d.write(wire.StreamEvent(*ev))
}

// read handles the agent's typing; other frames are dropped. Typing frames
// share the widget's budget, since each reaches a customer.
func (d *dashboard) read(data []byte) error {
	var f dashboardFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return errors.New("frames must be JSON objects")
	}
	if f.Type != protocol.FrameTyping || f.TicketID == "" {
		return nil
	}
	if _, ok := d.signals.allow(time.Now(), protocol.SignalBurst, protocol.SendWindowSec*time.Second); !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.srv.chat.AgentTyping(ctx, d.a.Scope, f.TicketID, d.a.Name, f.Typing); err != nil && !errs.Is(err, errs.NotFound) {
		d.srv.logErr(ctx, "dashboard: typing", err)
	}
	return nil
}
