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
func (b *Bus) Receive(ctx context.Context, payload string) {
	ev, err := b.decode(ctx, payload)
	if err != nil {
		b.log.ErrorContext(ctx, "receive event", "err", err)
		return
	}
	if ev != nil {
		b.hub.Publish(*ev)
	}
}

func (b *Bus) decode(ctx context.Context, payload string) (*chat.Event, error) {
	kind, rest, _ := strings.Cut(payload, "|")
	switch kind {
	case "e":
		var e ephemeral
		if err := json.Unmarshal([]byte(rest), &e); err != nil {
			return nil, fmt.Errorf("realtime: decode ephemeral event: %w", err)
		}
		return &chat.Event{Type: e.Type, TeamID: e.TeamID, Mode: e.Mode, TicketID: e.TicketID, CustomerID: e.CustomerID,
			Author: chat.Author{Type: e.AuthorType, ID: e.AuthorID, Name: e.AuthorName}, Typing: e.Typing,
			Reader: e.Reader, Seq: e.Seq, SessionID: e.SessionID, CreatedAt: e.At}, nil
	case "d":
		parts := strings.Split(rest, "|")
		if len(parts) != 3 {
			return nil, fmt.Errorf("realtime: bad notice %q", payload)
		}
		pos, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || pos < 1 {
			return nil, fmt.Errorf("realtime: bad notice %q", payload)
		}
		sc := scope.Scope{TeamID: parts[0], Mode: scope.Mode(parts[1])}
		evs, err := b.load.EventsAfter(ctx, sc, pos-1, 1)
		if err != nil {
			return nil, fmt.Errorf("realtime: load event %d: %w", pos, err)
		}
		if len(evs) == 0 || evs[0].Pos != pos {
			return nil, fmt.Errorf("realtime: event %d of a notice is missing", pos)
		}
		return &evs[0], nil
	}
	return nil, fmt.Errorf("realtime: unknown notice %q", payload)
}
