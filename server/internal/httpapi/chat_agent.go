package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/wire"
	"github.com/cstar-chat/cstar/server/protocol"
)

// seqParam reads an optional non-negative integer query parameter.
func seqParam(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errs.Invalidf(name, "%s must be a non-negative integer", name)
	}
	return n, nil
}

// defaultMessagePage is how many messages a history page holds unless the
// client asks for another number.
const defaultMessagePage = 50

// seqPageParams reads before_seq and limit, the paging of message history.
func seqPageParams(r *http.Request) (before int64, limit int, err error) {
	if before, err = seqParam(r, "before_seq"); err != nil {
		return 0, 0, err
	}
	limit, err = limitParam(r, defaultMessagePage, chat.MaxPage)
	return before, limit, err
}

// messagePage renders messages in seq order; next_cursor is the seq to pass
// as before_seq for older ones.
func messagePage(w http.ResponseWriter, p chat.Page) error {
	out := make([]protocol.Message, len(p.Messages))
	for i, m := range p.Messages {
		out[i] = wire.Message(m)
	}
	pg := &protocol.Pagination{HasMore: p.HasMore}
	if p.HasMore {
		next := strconv.FormatInt(p.Messages[0].Seq, 10)
		pg.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, protocol.DataBody{Success: true, Data: out, Pagination: pg})
	return nil
}

// listMessages pages a ticket's messages: the newest limit before
// before_seq, or with after_seq the first limit after it.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	sc := principalOf(r.Context()).scope()
	before, limit, err := seqPageParams(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Has("after_seq") {
		after, err := seqParam(r, "after_seq")
		if err != nil {
			return err
		}
		t, err := s.Chat.Ticket(r.Context(), sc, r.PathValue("id"))
		if err != nil {
			return err
		}
		ms, err := s.Chat.After(r.Context(), sc, t.ID, after, limit+1)
		if err != nil {
			return err
		}
		more := len(ms) > limit
		if more {
			ms = ms[:limit]
		}
		out := make([]protocol.Message, len(ms))
		for i, m := range ms {
			out[i] = wire.Message(m)
		}
		pg := &protocol.Pagination{HasMore: more}
		if more {
			next := strconv.FormatInt(ms[len(ms)-1].Seq, 10)
			pg.NextCursor = &next
		}
		writeJSON(w, http.StatusOK, protocol.DataBody{Success: true, Data: out, Pagination: pg})
		return nil
	}
	p, err := s.Chat.History(r.Context(), sc, r.PathValue("id"), before, limit)
	if err != nil {
		return err
	}
	return messagePage(w, p)
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) error {
	var in protocol.AgentMessageRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	sc := principalOf(r.Context()).scope()
	var m chat.Message
	var err error
	if in.Internal {
		if in.AuthorType != "" && in.AuthorType != chat.AuthorAgent {
			return errs.Invalidf("author_type", "an internal note is an agent's: leave author_type out or make it agent")
		}
		m, err = s.Chat.Post(r.Context(), sc, r.PathValue("id"), chat.Author{Name: in.AuthorName}, in.ClientID, in.Body, true)
	} else {
		m, err = s.Chat.AgentPost(r.Context(), sc, r.PathValue("id"), in.AuthorType, in.AuthorName, in.ClientID, in.Body)
	}
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, wire.Message(m))
}

func (s *Server) postTyping(w http.ResponseWriter, r *http.Request) error {
	var in protocol.AgentTypingRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	if err := s.Chat.AgentTyping(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"), in.AuthorName, in.Typing); err != nil {
		return err
	}
	return ok(w, http.StatusOK, map[string]any{"typing": in.Typing, "ttl_ms": protocol.TypingTTLMillis})
}

func (s *Server) postRead(w http.ResponseWriter, r *http.Request) error {
	var in protocol.ReadRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	t, err := s.Chat.AgentRead(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"), in.Seq)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, wire.TicketOf(t))
}

// widgetMessages pages the signed-in customer's history: their latest chat
// ticket, or ticket_id.
func (s *Server) widgetMessages(w http.ResponseWriter, r *http.Request) error {
	sc := principalOf(r.Context()).scope()
	_, c, err := s.Identity.Authenticate(r.Context(), sc, r.Header.Get(protocol.SessionHeader))
	if err != nil {
		return err
	}
	before, limit, err := seqPageParams(r)
	if err != nil {
		return err
	}
	p, err := s.Chat.CustomerHistory(r.Context(), sc, c.ID, r.URL.Query().Get("ticket_id"), before, limit)
	if err != nil {
		return err
	}
	return messagePage(w, p)
}

// realtimeStream upgrades to the agents' stream of the key's team and mode:
// the durable events after ?after=<pos> first (or none without it), then
// live ones (package socket).
func (s *Server) realtimeStream(w http.ResponseWriter, r *http.Request) error {
	sc := principalOf(r.Context()).scope()
	ctx := context.WithoutCancel(r.Context())
	after, err := seqParam(r, "after")
	if err != nil {
		return err
	}
	pos, reset, err := s.Sockets.StreamStart(ctx, sc, after, r.URL.Query().Has("after"))
	if err != nil {
		return err
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader has answered
	}
	s.Sockets.ServeStream(ctx, ws, principalOf(r.Context()).Key, pos, reset)
	return nil
}

// listEvents pages the durable events of the key's team and mode after
// position after, in order, in the stream's shapes: the REST view of what
// the realtime stream sends (merges included). next_cursor is the position
// to pass as after for the next page.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	sc := principalOf(r.Context()).scope()
	after, err := seqParam(r, "after")
	if err != nil {
		return err
	}
	limit, err := limitParam(r, 20, 100)
	if err != nil {
		return err
	}
	evs, err := s.Chat.EventsAfter(r.Context(), sc, after, limit+1)
	if err != nil {
		return err
	}
	more := len(evs) > limit
	if more {
		evs = evs[:limit]
	}
	out := make([]protocol.StreamEvent, len(evs))
	for i, ev := range evs {
		out[i] = wire.StreamEvent(ev)
	}
	pg := &protocol.Pagination{HasMore: more}
	if len(evs) > 0 {
		next := strconv.FormatInt(evs[len(evs)-1].Pos, 10)
		pg.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, protocol.DataBody{Success: true, Data: out, Pagination: pg})
	return nil
}

type articleViewJSON struct {
	ArticleID string    `json:"article_id"`
	Title     string    `json:"title"`
	Slug      string    `json:"slug"`
	ViewedAt  time.Time `json:"viewed_at"`
}

// listArticleViews lists the Library articles the customer opened in the
// widget before writing to a ticket, first opened first.
func (s *Server) listArticleViews(w http.ResponseWriter, r *http.Request) error {
	vs, err := s.Chat.ArticleViews(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]articleViewJSON, len(vs))
	for i, v := range vs {
		out[i] = articleViewJSON{ArticleID: v.ArticleID, Title: v.Title, Slug: v.Slug, ViewedAt: v.ViewedAt}
	}
	return ok(w, http.StatusOK, out)
}
