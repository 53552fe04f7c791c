package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Notifier sends a payload to every server process (PostgreSQL NOTIFY).
type Notifier interface {
	Notify(ctx context.Context, payload string) error
}

// EventLoader reads durable events back by position.
type EventLoader interface {
	EventsAfter(ctx context.Context, sc scope.Scope, after int64, limit int) ([]chat.Event, error)
}

// Bus carries events to the hub of every server process. Without a
// notifier (SQLite, one process) it hands them straight to the local hub.
// With one, durable events travel as their position (the store queues the
// notice in the event's own transaction) and ephemeral ones as small JSON,
// and every process, this one included, delivers what it hears.
type Bus struct {
	hub    *Hub
	notify Notifier
	load   EventLoader
	log    *slog.Logger
}

// NewLocalBus is the bus of a single process.
func NewLocalBus(h *Hub) *Bus { return &Bus{hub: h, log: slog.New(slog.DiscardHandler)} }

// NewSharedBus is the bus of processes that share PostgreSQL; feed it the
// notifications with Receive.
func NewSharedBus(h *Hub, n Notifier, l EventLoader, log *slog.Logger) *Bus {
	return &Bus{hub: h, notify: n, load: l, log: log}
}

// Committed takes durable events once stored (the store's commit hook). On
// a shared bus they arrive through Receive instead.
func (b *Bus) Committed(evs []chat.Event) {
	if b.notify != nil {
		return
	}
	for _, ev := range evs {
		b.hub.Publish(ev)
	}
}

// ephemeral is the NOTIFY form of an ephemeral event.
type ephemeral struct {
	Type       string     `json:"t"`
	TeamID     string     `json:"team"`
	Mode       scope.Mode `json:"mode"`
	TicketID   string     `json:"ticket,omitempty"`
	CustomerID string     `json:"cust,omitempty"`
	AuthorType string     `json:"at,omitempty"`
	AuthorID   string     `json:"aid,omitempty"`
	AuthorName string     `json:"an,omitempty"`
	Typing     bool       `json:"typing,omitempty"`
	Reader     string     `json:"reader,omitempty"`
	Seq        int64      `json:"seq,omitempty"`
	SessionID  string     `json:"sid,omitempty"`
	At         time.Time  `json:"at_time"`
}

// Publish implements chat.Publisher for ephemeral events.
func (b *Bus) Publish(ctx context.Context, ev chat.Event) {
	if b.notify == nil {
		b.hub.Publish(ev)
		return
	}
	p, _ := json.Marshal(ephemeral{Type: ev.Type, TeamID: ev.TeamID, Mode: ev.Mode, TicketID: ev.TicketID,
		CustomerID: ev.CustomerID, AuthorType: ev.Author.Type, AuthorID: ev.Author.ID, AuthorName: ev.Author.Name,
		Typing: ev.Typing, Reader: ev.Reader, Seq: ev.Seq, SessionID: ev.SessionID, At: ev.CreatedAt})
	if err := b.notify.Notify(ctx, "e|"+string(p)); err != nil {
		b.log.ErrorContext(ctx, "publish ephemeral event", "type", ev.Type, "err", err)
	}
}

// Receive delivers one notification to the local hub.
func (b *Bus) Receive(ctx context.Context, payload string) { b.ReceiveBatch(ctx, []string{payload}) }

// Run delivers the notifications from in until ctx ends, in batches of what
// has arrived meanwhile: a batch's durable events are read with one query
// per team and mode rather than one each, which is what keeps up with
// hundreds of messages a second.
func (b *Bus) Run(ctx context.Context, in <-chan string) {
	const maxBatch = 1000
	for {
		var batch []string
		select {
		case <-ctx.Done():
			return
		case p := <-in:
			batch = append(batch, p)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case p := <-in:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		b.ReceiveBatch(ctx, batch)
	}
}

// ReceiveBatch delivers notifications to the local hub: ephemeral events at
// once, durable ones read back by position range and published in order,
// each position once.
func (b *Bus) ReceiveBatch(ctx context.Context, payloads []string) {
	type span struct{ lo, hi int64 }
	spans := map[scope.Scope]*span{}
	var order []scope.Scope
	for _, p := range payloads {
		kind, rest, _ := strings.Cut(p, "|")
		if kind == "d" {
			sc, pos, err := parseNotice(rest)
			if err != nil {
				b.log.ErrorContext(ctx, "receive event", "err", err)
				continue
			}
			sp := spans[sc]
			if sp == nil {
				sp = &span{lo: pos, hi: pos}
				spans[sc] = sp
				order = append(order, sc)
			}
			sp.lo, sp.hi = min(sp.lo, pos), max(sp.hi, pos)
			continue
		}
		ev, err := b.decode(ctx, p)
		if err != nil {
			b.log.ErrorContext(ctx, "receive event", "err", err)
			continue
		}
		b.hub.Publish(*ev)
	}
	for _, sc := range order {
		sp := spans[sc]
		after := sp.lo - 1
		for after < sp.hi {
			evs, err := b.load.EventsAfter(ctx, sc, after, int(min(sp.hi-after, 500)))
			if err != nil {
				b.log.ErrorContext(ctx, "receive events", "from", after+1, "to", sp.hi, "err", err)
				break
			}
			if len(evs) == 0 {
				b.log.ErrorContext(ctx, "receive events: notified events are missing", "from", after+1, "to", sp.hi)
				break
			}
			for _, ev := range evs {
				b.hub.Publish(ev)
				after = ev.Pos
			}
		}
	}
}

func parseNotice(rest string) (scope.Scope, int64, error) {
	parts := strings.Split(rest, "|")
	if len(parts) != 3 {
		return scope.Scope{}, 0, fmt.Errorf("realtime: bad notice %q", rest)
	}
	pos, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || pos < 1 {
		return scope.Scope{}, 0, fmt.Errorf("realtime: bad notice %q", rest)
	}
	return scope.Scope{TeamID: parts[0], Mode: scope.Mode(parts[1])}, pos, nil
}

func (b *Bus) decode(ctx context.Context, payload string) (*chat.Event, error) {
	kind, rest, _ := strings.Cut(payload, "|")
	if kind != "e" {
		return nil, fmt.Errorf("realtime: unknown notice %q", payload)
	}
	var e ephemeral
	if err := json.Unmarshal([]byte(rest), &e); err != nil {
		return nil, fmt.Errorf("realtime: decode ephemeral event: %w", err)
	}
	return &chat.Event{Type: e.Type, TeamID: e.TeamID, Mode: e.Mode, TicketID: e.TicketID, CustomerID: e.CustomerID,
		Author: chat.Author{Type: e.AuthorType, ID: e.AuthorID, Name: e.AuthorName}, Typing: e.Typing,
		Reader: e.Reader, Seq: e.Seq, SessionID: e.SessionID, CreatedAt: e.At}, nil
}
