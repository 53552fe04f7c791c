package realtime

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Notice is what travels between server processes (as a PostgreSQL NOTIFY
// payload): a durable event's position, whose row each process reads back,
// or an ephemeral event whole. This is the only place that writes or reads
// the format; the store's SQL appends a position to DurablePrefix, and a
// store test holds the stored function cstar_append_message to it.
//
//	d|<team>|<mode>|<pos>    a durable event, well under the 8,000-byte limit
//	e|<json>                 an ephemeral event (typing, read, session end)
type Notice struct {
	Scope scope.Scope
	Pos   int64       // durable events: the position, ≥ 1
	Event *chat.Event // ephemeral events; nil for durable ones
}

// DurablePrefix is the start of the notice of sc's durable events: the
// position follows it.
func DurablePrefix(sc scope.Scope) string { return "d|" + sc.TeamID + "|" + string(sc.Mode) + "|" }

// DurableNotice is the notice of durable event ev.
func DurableNotice(ev chat.Event) Notice { return Notice{Scope: ev.Scope(), Pos: ev.Pos} }

// Format writes the notice as a payload.
func (n Notice) Format() string {
	if n.Event == nil {
		return DurablePrefix(n.Scope) + strconv.FormatInt(n.Pos, 10)
	}
	e := n.Event
	p, _ := json.Marshal(ephemeral{Type: e.Type, TeamID: e.TeamID, Mode: e.Mode, TicketID: e.TicketID,
		CustomerID: e.CustomerID, AuthorType: e.Author.Type, AuthorID: e.Author.ID, AuthorName: e.Author.Name,
		Typing: e.Typing, Reader: e.Reader, Seq: e.Seq, SessionID: e.SessionID, KeyID: e.KeyID, At: e.CreatedAt})
	return "e|" + string(p)
}

// ParseNotice reads a payload written by Format (or the stored function).
func ParseNotice(payload string) (Notice, error) {
	kind, rest, _ := strings.Cut(payload, "|")
	switch kind {
	case "d":
		parts := strings.Split(rest, "|")
		if len(parts) != 3 || parts[0] == "" || !scope.Mode(parts[1]).Valid() {
			return Notice{}, fmt.Errorf("realtime: bad notice %q", payload)
		}
		pos, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || pos < 1 {
			return Notice{}, fmt.Errorf("realtime: bad notice %q", payload)
		}
		return Notice{Scope: scope.Scope{TeamID: parts[0], Mode: scope.Mode(parts[1])}, Pos: pos}, nil
	case "e":
		var e ephemeral
		if err := json.Unmarshal([]byte(rest), &e); err != nil {
			return Notice{}, fmt.Errorf("realtime: decode ephemeral event: %w", err)
		}
		ev := &chat.Event{Type: e.Type, TeamID: e.TeamID, Mode: e.Mode, TicketID: e.TicketID, CustomerID: e.CustomerID,
			Author: chat.Author{Type: e.AuthorType, ID: e.AuthorID, Name: e.AuthorName}, Typing: e.Typing,
			Reader: e.Reader, Seq: e.Seq, SessionID: e.SessionID, KeyID: e.KeyID, CreatedAt: e.At}
		return Notice{Scope: ev.Scope(), Event: ev}, nil
	}
	return Notice{}, fmt.Errorf("realtime: unknown notice %q", payload)
}

// ephemeral is the JSON of an ephemeral event's notice; short names keep it
// small.
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
	KeyID      string     `json:"kid,omitempty"`
	At         time.Time  `json:"at_time"`
}
