package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/wire"
)

// EventID is the public id of an event: "evt_" and 32 hex digits.
func EventID(hex32 string) string { return "evt_" + strings.ReplaceAll(hex32, "-", "") }

// LogEventID is the id of the event at a position of a scope's log: the
// same for every endpoint, retry and redelivery, so that receivers can
// recognise a repeat.
func LogEventID(sc scope.Scope, pos int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%d", sc.TeamID, sc.Mode, pos))
	return EventID(hex.EncodeToString(sum[:16]))
}

type envelope struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Created  int64  `json:"created"`
	Livemode bool   `json:"livemode"`
	Data     any    `json:"data"`
}

// Payload is the body of a delivery: {"id", "type", "created" (Unix
// seconds), "livemode", "data"}.
func Payload(id, typ string, created time.Time, mode scope.Mode, data any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(envelope{ID: id, Type: typ, Created: created.Unix(), Livemode: mode == scope.Live, Data: data})
	if err != nil {
		return nil, fmt.Errorf("webhook: payload: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// dataOf is an event's data, in the REST API's shape of its resource as it
// is when the event is fanned out (normally milliseconds after it happened);
// a resource deleted by then is {"id": …, "deleted": true}.
func dataOf(ev chat.Event) any {
	switch ev.Type {
	case chat.MessageCreated:
		if ev.Message == nil {
			return wire.Deleted{ID: ev.MessageID, Deleted: true}
		}
		return wire.Message(*ev.Message)
	case chat.TicketCreated, chat.TicketUpdated, chat.CustomerMerged:
		// A merge's data is the moved ticket, whose merged_from names the
		// visitor and customer_id the customer now holding it.
		if ev.Ticket == nil {
			return wire.Deleted{ID: ev.TicketID, Deleted: true}
		}
		return wire.TicketOf(*ev.Ticket)
	case chat.CustomerCreated, chat.CustomerUpdated, chat.CustomerDeleted:
		return wire.CustomerOrDeleted(ev.Customer, ev.CustomerID)
	}
	return map[string]any{}
}

// Plan turns events of one scope into a delivery per endpoint that wants
// them: enabled, subscribed to the type, and created before the event
// (an endpoint never gets what happened before it existed). newID makes
// delivery ids; due says when an endpoint's new deliveries are first due
// (now, or later while it is failing); claim, when it returns one, claims
// a delivery due now for the caller at once.
func Plan(evs []chat.Event, eps []Endpoint, now time.Time, newID func() (string, error), due func(Endpoint) time.Time,
	claim func(Endpoint) *Claim) ([]Planned, error) {
	var out []Planned
	for _, ev := range evs {
		var body []byte
		for _, e := range eps {
			if !e.Enabled || !e.Wants(ev.Type) || ev.CreatedAt.Before(e.CreatedAt) {
				continue
			}
			if body == nil {
				var err error
				body, err = Payload(LogEventID(ev.Scope(), ev.Pos), ev.Type, ev.CreatedAt, ev.Mode, dataOf(ev))
				if err != nil {
					return nil, err
				}
			}
			id, err := newID()
			if err != nil {
				return nil, err
			}
			at := now
			if due != nil {
				at = due(e)
			}
			p := Planned{Delivery: Delivery{ID: id, EndpointID: e.ID, TeamID: e.TeamID, Mode: e.Mode,
				EventID: LogEventID(ev.Scope(), ev.Pos), EventType: ev.Type, Payload: body, State: Pending,
				NextAttemptAt: &at, CreatedAt: now}}
			if claim != nil && !at.After(now) {
				p.Claim = claim(e)
			}
			out = append(out, p)
		}
	}
	return out, nil
}
