package socket

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
	"github.com/cstar-chat/cstar/server/internal/wire"
	"github.com/cstar-chat/cstar/server/protocol"
)

// widget is a customer's live connection.
type widget struct {
	*conn
	sc scope.Scope
	// customer is the customer's id and the name their messages carry
	// (only these: the rest of the customer would cost memory on every idle
	// connection).
	customer  helpdesk.Customer
	sessionID string
	// token and sessionEnd let the connection close when its session
	// expires (the next ping after sessionEnd looks the session up again).
	token      string
	sessionEnd atomic.Int64 // unix nanoseconds
	// cursors is the last seq sent per ticket; only the writer uses it once
	// the connection runs.
	cursors map[string]int64
	// The reader's budgets: messages, and typing and read frames, which fan
	// out to every agent of the team.
	sends, signals budget
}

// ServeWidget runs the widget channel on a connection upgraded for
// publishable key k: it reads the resume frame (the session comes in it,
// never in the URL), replays what the client missed and starts the
// connection's reader and writer. It returns once the connection runs. The
// connection closes when its key or its session ends.
func (s *Server) ServeWidget(ctx context.Context, ws *websocket.Conn, k apikey.Key) {
	sc := k.Scope()
	c := newConn(s, ws, k.ID)
	ws.SetReadLimit(protocol.MaxFrameBytes)
	ws.SetReadDeadline(time.Now().Add(s.t.ResumeWait))
	typ, data, err := ws.ReadMessage()
	if err != nil {
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			c.closeNow(protocol.CloseResumeWanted, "send a resume frame first")
		} else {
			ws.Close()
		}
		return
	}
	var f protocol.ClientFrame
	if typ != websocket.TextMessage || json.Unmarshal(data, &f) != nil || f.Type != protocol.FrameResume {
		c.closeNow(protocol.CloseProtocol, "the first frame must be a resume frame")
		return
	}
	if text.JSON(data) != nil {
		c.closeNow(protocol.CloseProtocol, "the resume frame must be valid UTF-8 without control characters")
		return
	}
	ses, cust, err := s.sessions.Authenticate(ctx, sc, f.Session)
	if err != nil {
		if errs.Is(err, errs.Unauthorized) {
			c.closeNow(protocol.CloseSessionInvalid, "session invalid: sign in again")
		} else {
			s.logErr(ctx, "chat resume: session", err)
			c.closeNow(protocol.CloseRestart, "try again")
		}
		return
	}
	name := cust.DisplayName()
	wc := &widget{conn: c, sc: sc, customer: helpdesk.Customer{ID: cust.ID, TeamID: cust.TeamID, Mode: cust.Mode, Name: name},
		sessionID: ses.ID, token: f.Session}
	wc.sessionEnd.Store(sessionEnd(ses).UnixNano())
	c.onPing = wc.checkSession
	// Subscribe before reading the replay, so nothing published meanwhile
	// is missed; the cursors drop what the replay already sent.
	unsubscribe := s.hub.SubscribeCustomer(sc, cust.ID, wc)
	res, err := s.chat.Resume(ctx, sc, cust.ID, f.Tickets)
	if err != nil {
		unsubscribe()
		s.logErr(ctx, "chat resume: replay", err)
		c.closeNow(protocol.CloseRestart, "try again")
		return
	}
	wc.cursors = res.Cursors
	delivered := map[string]int64{}
	for _, m := range res.Messages {
		if err := c.write(protocol.MessageFrame{Type: protocol.FrameMessage, Message: wire.Message(m)}); err != nil {
			unsubscribe()
			ws.Close()
			return
		}
		if fromTeam(m) {
			delivered[m.TicketID] = max(delivered[m.TicketID], m.Seq)
		}
	}
	for id, seq := range delivered {
		wc.delivered(id, seq)
	}
	ready := protocol.ReadyFrame{Type: protocol.FrameReady, CustomerID: cust.ID, Tickets: make([]protocol.ChatTicket, len(res.Tickets))}
	for i, t := range res.Tickets {
		ready.Tickets[i] = wire.ChatTicket(t)
	}
	if err := c.write(ready); err != nil {
		unsubscribe()
		ws.Close()
		return
	}
	c.endWithKey(k)
	c.run(wc.handle, wc.read, unsubscribe)
}

// checkSession closes the connection once its session has expired: at the
// first ping after the expiry it knew of, it looks the session up again,
// since use by another tab may have moved its idle expiry.
func (wc *widget) checkSession() {
	s := wc.srv
	if s.now().UnixNano() < wc.sessionEnd.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ses, _, err := s.sessions.Authenticate(ctx, wc.sc, wc.token)
	switch {
	case errs.Is(err, errs.Unauthorized):
		wc.Close(protocol.CloseSessionInvalid, "session expired")
	case err != nil:
		// Look again at a later ping, once the database answers.
	default:
		wc.sessionEnd.Store(sessionEnd(ses).UnixNano())
	}
}

func sessionEnd(ses identity.Session) time.Time {
	if ses.AbsoluteExpiresAt.Before(ses.ExpiresAt) {
		return ses.AbsoluteExpiresAt
	}
	return ses.ExpiresAt
}

func (wc *widget) errorFrame(clientID string, err error) {
	e := errs.Public(err)
	msg := e.Message
	if e.Code == errs.Internal {
		wc.srv.log.Error("chat frame", "err", err)
		msg = protocol.MsgInternal
	}
	f := protocol.ErrorFrame{Type: protocol.FrameError, ClientID: clientID, Code: string(e.Code), Error: msg}
	if e.RetryAfter > 0 {
		f.RetryAfterMs = e.RetryAfter.Milliseconds()
	}
	wc.enqueueFrame(f)
}

// read handles one frame from the client (in the reader goroutine). Frames
// it cannot use get an error frame; only undecodable ones close.
func (wc *widget) read(data []byte) error {
	var f protocol.ClientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return errors.New("frames must be JSON objects")
	}
	if err := text.JSON(data); err != nil {
		wc.errorFrame(f.ClientID, err)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch f.Type {
	case protocol.FrameSend:
		if wait, ok := wc.sends.allow(time.Now(), protocol.SendBurst, protocol.SendWindowSec*time.Second); !ok {
			wc.errorFrame(f.ClientID, &errs.Error{Code: errs.RateLimited, Message: "Too many messages: wait a moment", RetryAfter: wait})
			return nil
		}
		m, err := wc.srv.chat.CustomerSend(ctx, wc.sc, wc.customer, f.ClientID, f.Body)
		if err != nil {
			wc.errorFrame(f.ClientID, err)
			return nil
		}
		if len(f.Articles) > 0 {
			// A hint for the agents: a failure costs the customer nothing.
			if err := wc.srv.chat.RecordArticleViews(ctx, wc.sc, wc.customer.ID, m.TicketID, f.Articles); err != nil {
				wc.srv.logErr(ctx, "chat: record article views", err)
			}
		}
		wc.enqueue(outItem{d: &direct{ack: &m, clientID: f.ClientID}})
	case protocol.FrameTyping:
		// Over its budget a typing frame is dropped without a word: typing
		// is a hint, and the next one (or its TTL) corrects it.
		if _, ok := wc.signals.allow(time.Now(), protocol.SignalBurst, protocol.SendWindowSec*time.Second); !ok {
			return nil
		}
		if err := wc.srv.chat.CustomerTyping(ctx, wc.sc, wc.customer, f.Typing); err != nil {
			wc.errorFrame("", err)
		}
	case protocol.FrameRead:
		// A read position only moves forward: a dropped one is covered by
		// the next.
		if _, ok := wc.signals.allow(time.Now(), protocol.SignalBurst, protocol.SendWindowSec*time.Second); !ok {
			return nil
		}
		if _, err := wc.srv.chat.CustomerRead(ctx, wc.sc, wc.customer.ID, f.TicketID, f.Seq); err != nil {
			wc.errorFrame("", err)
		}
	default:
		wc.errorFrame("", errs.Invalidf("type", "unknown frame type %q", f.Type))
	}
	return nil
}

// handle writes one queued item (in the writer goroutine).
func (wc *widget) handle(it outItem) error {
	if d := it.d; d != nil {
		if d.ack != nil {
			return wc.deliver(*d.ack, d.clientID)
		}
		return wc.write(d.frame)
	}
	ev := it.ev
	switch ev.Type {
	case chat.MessageCreated:
		// An internal note never reaches a customer (the hub does not route
		// one here either).
		if ev.Message == nil || ev.Message.Internal {
			return nil
		}
		return wc.deliver(*ev.Message, "")
	case chat.TicketCreated, chat.TicketUpdated, chat.CustomerMerged:
		if ev.Ticket == nil {
			return nil
		}
		return wc.write(protocol.TicketFrame{Type: protocol.FrameTicket, Ticket: wire.ChatTicket(*ev.Ticket)})
	case chat.Typing:
		return wc.write(protocol.TypingFrame{Type: protocol.FrameTyping, TicketID: ev.TicketID,
			Author: protocol.Author{Type: ev.Author.Type, Name: ev.Author.Name}, Typing: ev.Typing, TTLMs: protocol.TypingTTLMillis})
	case chat.Read:
		return wc.write(protocol.ReadFrame{Type: protocol.FrameRead, TicketID: ev.TicketID, Reader: ev.Reader, Seq: ev.Seq})
	case chat.SessionRevoked:
		if ev.SessionID == "" || ev.SessionID == wc.sessionID {
			wc.Close(protocol.CloseSessionInvalid, "session revoked")
		}
	}
	return nil
}

func (wc *widget) writeMessage(m chat.Message) error {
	if err := wc.write(protocol.MessageFrame{Type: protocol.FrameMessage, Message: wire.Message(m)}); err != nil {
		return err
	}
	if fromTeam(m) {
		wc.delivered(m.TicketID, m.Seq)
	}
	return nil
}

// fromTeam tells a message of the team (an agent, a bot), which the
// customer is emailed about when it reaches none of their sockets.
func fromTeam(m chat.Message) bool { return m.Author.Type != chat.AuthorCustomer && !m.Internal }

// delivered records that the customer has had the ticket's messages up to
// seq (see recorder).
func (wc *widget) delivered(ticketID string, seq int64) {
	wc.srv.record.add(wc.srv, chat.Delivery{Scope: wc.sc, TicketID: ticketID, Seq: seq})
}

// deliver sends message m once and in order: messages of the ticket that
// the client has not been sent yet go first (read from the database), and a
// message already sent is dropped, unless it is an acknowledgement.
func (wc *widget) deliver(m chat.Message, ackFor string) error {
	cur, known := wc.cursors[m.TicketID]
	if !known {
		// A ticket the client does not hold: like a resume, its recent
		// history leads.
		cur = max(m.Seq-1-chat.ReplayWindow, 0)
	}
	if m.Seq > cur+1 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		load := func(ctx context.Context, after int64, limit int) ([]chat.Message, error) {
			return wc.srv.chat.CustomerAfter(ctx, wc.sc, m.TicketID, after, limit)
		}
		var err error
		cur, err = fillGap(ctx, cur, m.Seq-1, load, func(m chat.Message) int64 { return m.Seq }, wc.writeMessage)
		if errors.Is(err, errLoad) {
			wc.srv.logErr(context.Background(), "chat: fill a gap", err)
			wc.Close(protocol.CloseRestart, "try again")
		}
		if err != nil {
			return err
		}
	}
	if ackFor != "" {
		wc.cursors[m.TicketID] = max(cur, m.Seq)
		return wc.write(protocol.AckFrame{Type: protocol.FrameAck, ClientID: ackFor, Message: wire.Message(m)})
	}
	if m.Seq <= cur {
		return nil
	}
	wc.cursors[m.TicketID] = m.Seq
	return wc.writeMessage(m)
}
