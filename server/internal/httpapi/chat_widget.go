package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/protocol"
)

const rfc3339Milli = "2006-01-02T15:04:05.000Z07:00"

func messageOut(m chat.Message) protocol.Message {
	a := protocol.Author{Type: m.Author.Type, ID: nilIfEmpty(m.Author.ID), Name: m.Author.Name}
	return protocol.Message{ID: m.ID, TicketID: m.TicketID, Seq: m.Seq, Author: a, Body: m.Body,
		ClientID: nilIfEmpty(m.ClientID), CreatedAt: m.CreatedAt.UTC().Format(rfc3339Milli)}
}

func chatTicketOut(t helpdesk.Ticket) protocol.ChatTicket {
	return protocol.ChatTicket{ID: t.ID, Status: t.Status, LastSeq: t.LastSeq, CustomerReadSeq: t.CustomerReadSeq,
		AgentReadSeq: t.AgentReadSeq, CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339),
		UpdatedAt: t.UpdatedAt.UTC().Format(time.RFC3339)}
}

// widgetChat opens the widget's websocket. The publishable key comes in the
// URL (it is not a secret) so that the origin can be checked against the
// team before the upgrade; the session comes in the first frame. A refusal
// the client should not retry is a close code after the upgrade, since a
// browser cannot read a refused handshake's status.
func (s *Server) widgetChat(w http.ResponseWriter, r *http.Request) {
	if s.Chat == nil || s.Hub == nil {
		renderError(w, r, s.Log, errs.NotFoundf("Live chat is not enabled"))
		return
	}
	raw := r.URL.Query().Get("key")
	k, err := s.Auth.Authenticate(r.Context(), raw)
	if err != nil && !errors.Is(err, apikey.ErrInvalid) {
		renderError(w, r, s.Log, err)
		return
	}
	refuse := func(code int, reason string) {
		if ws, err := s.upgrader.Upgrade(w, r, nil); err == nil {
			newWSConn(ws, s.ChatTimings).closeNow(code, reason)
		}
	}
	if err != nil || k.Type != apikey.Publishable {
		if err := s.limit(r.Context(), w, "invalid:"+s.clientIP(r).String(), s.Limits.InvalidKey); err != nil {
			renderError(w, r, s.Log, err)
			return
		}
		if err == nil {
			s.Auth.Record(k.ID, true, false)
		}
		refuse(protocol.CloseInvalidKey, protocol.MsgInvalidAPIKey)
		return
	}
	herr := func() error {
		if err := s.keyLimit(w, r, k); err != nil {
			return err
		}
		t, err := s.Teams.Resolve(r.Context(), k.TeamID)
		if err != nil {
			return err
		}
		if o := r.Header.Get("Origin"); o != "" && !t.AllowsOrigin(o) {
			return errOrigin
		}
		return nil
	}()
	s.Auth.Record(k.ID, herr != nil, errs.Is(herr, errs.RateLimited))
	if herr != nil {
		renderError(w, r, s.Log, herr)
		return
	}
	if v := r.URL.Query().Get("v"); v != "" && v != strconv.Itoa(protocol.ChatVersion) {
		refuse(protocol.CloseVersion, "unsupported protocol version")
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	s.startWidget(context.WithoutCancel(r.Context()), newWSConn(ws, s.ChatTimings), k.Scope())
}

// widgetConn is a customer's live connection.
type widgetConn struct {
	*wsConn
	s         *Server
	sc        scope.Scope
	customer  helpdesk.Customer
	sessionID string
	// cursors is the last seq sent per ticket; only the writer uses it once
	// the connection runs.
	cursors map[string]int64
	// sent counts recent sends for the per-connection rate limit (reader).
	sent []time.Time
}

// startWidget reads the resume frame, replays what the client missed and
// starts the connection's goroutines.
func (s *Server) startWidget(ctx context.Context, c *wsConn, sc scope.Scope) {
	c.ws.SetReadLimit(protocol.MaxFrameBytes)
	c.ws.SetReadDeadline(time.Now().Add(c.t.ResumeWait))
	typ, data, err := c.ws.ReadMessage()
	if err != nil {
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			c.closeNow(protocol.CloseResumeWanted, "send a resume frame first")
		} else {
			c.ws.Close()
		}
		return
	}
	var f protocol.ClientFrame
	if typ != websocket.TextMessage || json.Unmarshal(data, &f) != nil || f.Type != protocol.FrameResume {
		c.closeNow(protocol.CloseProtocol, "the first frame must be a resume frame")
		return
	}
	ses, cust, err := s.Identity.Authenticate(ctx, sc, f.Session)
	if err != nil {
		if errs.Is(err, errs.Unauthorized) {
			c.closeNow(protocol.CloseSessionInvalid, "session invalid: sign in again")
		} else {
			s.Log.ErrorContext(ctx, "chat resume: session", "err", err)
			c.closeNow(protocol.CloseRestart, "try again")
		}
		return
	}
	wc := &widgetConn{wsConn: c, s: s, sc: sc, customer: cust, sessionID: ses.ID}
	// Subscribe before reading the replay, so nothing published meanwhile
	// is missed; the cursors drop what the replay already sent.
	unsubscribe := s.Hub.SubscribeCustomer(sc, cust.ID, wc)
	res, err := s.Chat.Resume(ctx, sc, cust.ID, f.Tickets)
	if err != nil {
		unsubscribe()
		s.Log.ErrorContext(ctx, "chat resume: replay", "err", err)
		c.closeNow(protocol.CloseRestart, "try again")
		return
	}
	wc.cursors = res.Cursors
	for _, m := range res.Messages {
		if err := c.write(protocol.MessageFrame{Type: protocol.FrameMessage, Message: messageOut(m)}); err != nil {
			unsubscribe()
			c.ws.Close()
			return
		}
	}
	ready := protocol.ReadyFrame{Type: protocol.FrameReady, CustomerID: cust.ID, Tickets: make([]protocol.ChatTicket, len(res.Tickets))}
	for i, t := range res.Tickets {
		ready.Tickets[i] = chatTicketOut(t)
	}
	if err := c.write(ready); err != nil {
		unsubscribe()
		c.ws.Close()
		return
	}
	c.run(wc.handle, wc.read, unsubscribe)
}

func (wc *widgetConn) errorFrame(clientID string, err error) {
	code, msg := errs.CodeOf(err), "Internal server error"
	var e *errs.Error
	if errors.As(err, &e) && code != errs.Internal {
		msg = e.Message
	} else if code == errs.Internal {
		wc.s.Log.Error("chat frame", "err", err)
	}
	f := protocol.ErrorFrame{Type: protocol.FrameError, ClientID: clientID, Code: string(code), Error: msg}
	if e != nil && e.RetryAfter > 0 {
		f.RetryAfterMs = e.RetryAfter.Milliseconds()
	}
	wc.enqueueFrame(f)
}

// allowSend applies the per-connection limit: SendBurst messages per
// SendWindowSec, sliding.
func (wc *widgetConn) allowSend(now time.Time) (time.Duration, bool) {
	window := protocol.SendWindowSec * time.Second
	keep := wc.sent[:0]
	for _, t := range wc.sent {
		if now.Sub(t) < window {
			keep = append(keep, t)
		}
	}
	wc.sent = keep
	if len(wc.sent) >= protocol.SendBurst {
		return window - now.Sub(wc.sent[0]), false
	}
	wc.sent = append(wc.sent, now)
	return 0, true
}

// read handles one frame from the client (in the reader goroutine). Frames
// it cannot use get an error frame; only undecodable ones close.
func (wc *widgetConn) read(data []byte) error {
	var f protocol.ClientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return errors.New("frames must be JSON objects")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch f.Type {
	case protocol.FrameSend:
		if wait, ok := wc.allowSend(time.Now()); !ok {
			wc.errorFrame(f.ClientID, &errs.Error{Code: errs.RateLimited, Message: "Too many messages: wait a moment", RetryAfter: wait})
			return nil
		}
		m, err := wc.s.Chat.CustomerSend(ctx, wc.sc, wc.customer, f.ClientID, f.Body)
		if err != nil {
			wc.errorFrame(f.ClientID, err)
			return nil
		}
		wc.enqueue(outItem{d: &direct{ack: &m, clientID: f.ClientID}})
	case protocol.FrameTyping:
		if err := wc.s.Chat.CustomerTyping(ctx, wc.sc, wc.customer, f.Typing); err != nil {
			wc.errorFrame("", err)
		}
	case protocol.FrameRead:
		if _, err := wc.s.Chat.CustomerRead(ctx, wc.sc, wc.customer.ID, f.TicketID, f.Seq); err != nil {
			wc.errorFrame("", err)
		}
	default:
		wc.errorFrame("", errs.Invalidf("type", "unknown frame type %q", f.Type))
	}
	return nil
}

// handle writes one queued item (in the writer goroutine).
func (wc *widgetConn) handle(it outItem) error {
	if d := it.d; d != nil {
		if d.ack != nil {
			return wc.deliver(*d.ack, d.clientID)
		}
		return wc.write(d.frame)
	}
	ev := it.ev
	switch ev.Type {
	case chat.MessageCreated:
		if ev.Message == nil {
			return nil
		}
		return wc.deliver(*ev.Message, "")
	case chat.TicketCreated, chat.TicketUpdated:
		if ev.Ticket == nil {
			return nil
		}
		return wc.write(protocol.TicketFrame{Type: protocol.FrameTicket, Ticket: chatTicketOut(*ev.Ticket)})
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

// deliver sends message m once and in order: messages of the ticket that
// the client has not been sent yet go first (read from the database), and a
// message already sent is dropped, unless it is an acknowledgement.
func (wc *widgetConn) deliver(m chat.Message, ackFor string) error {
	cur, known := wc.cursors[m.TicketID]
	if !known {
		// A ticket the client does not hold: like a resume, its recent
		// history leads.
		cur = max(m.Seq-1-chat.ReplayWindow, 0)
	}
	if m.Seq > cur+1 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for cur < m.Seq-1 {
			ms, err := wc.s.Chat.After(ctx, wc.sc, m.TicketID, cur, int(min(m.Seq-1-cur, chat.MaxPage)))
			if err != nil {
				wc.s.Log.Error("chat: fill a gap", "err", err)
				wc.Close(protocol.CloseRestart, "try again")
				return err
			}
			if len(ms) == 0 {
				break
			}
			for _, gm := range ms {
				if err := wc.write(protocol.MessageFrame{Type: protocol.FrameMessage, Message: messageOut(gm)}); err != nil {
					return err
				}
				cur = gm.Seq
			}
		}
	}
	if ackFor != "" {
		wc.cursors[m.TicketID] = max(cur, m.Seq)
		return wc.write(protocol.AckFrame{Type: protocol.FrameAck, ClientID: ackFor, Message: messageOut(m)})
	}
	if m.Seq <= cur {
		return nil
	}
	wc.cursors[m.TicketID] = m.Seq
	return wc.write(protocol.MessageFrame{Type: protocol.FrameMessage, Message: messageOut(m)})
}
