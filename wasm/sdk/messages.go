package sdk

import (
	"strconv"

	"github.com/cstar-chat/cstar/server/protocol"
)

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
	ch.lock()
	for _, v := range list {
		m, _ := v.(map[string]any)
		msg := messageFrom(m)
		out = append(out, msg)
		ch.add(msg, false)
	}
	ch.unlock()
	return out, nil
}
