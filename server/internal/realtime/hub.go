package realtime

import (
	"slices"
	"sync"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Subscriber is a live connection. Offer must never block: a connection
// whose queue is full closes itself with a reconnect code, so one slow
// client never holds up the others.
type Subscriber interface {
	Offer(ev *chat.Event)
	// Close ends the connection with a websocket close code.
	Close(code int, reason string)
}

type subKey struct {
	team     string
	mode     scope.Mode
	customer string // "" for a team's agent streams, agentsKey for its dashboards
}

// agentsKey marks the dashboards of a team and mode in subKey; no customer
// id looks like it.
const agentsKey = "\x00dashboards"

// Hub knows the live connections of this process: customers' widgets,
// agents' streams (secret keys) and agents' dashboards (signed-in agents).
type Hub struct {
	mu sync.RWMutex
	// subs holds a slice per key: most customers have one connection, and
	// a slice of one costs far less than a map of one.
	subs map[subKey][]Subscriber
	n    [2]int // widgets, streams and dashboards
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[subKey][]Subscriber{}} }

func (h *Hub) add(k subKey, s Subscriber) func() {
	kind := 0
	if k.customer == "" || k.customer == agentsKey {
		kind = 1
	}
	h.mu.Lock()
	h.subs[k] = append(h.subs[k], s)
	h.n[kind]++
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		list := h.subs[k]
		i := slices.Index(list, s)
		if i < 0 {
			return // already removed
		}
		list = slices.Delete(list, i, i+1)
		if len(list) == 0 {
			delete(h.subs, k)
		} else {
			h.subs[k] = list
		}
		h.n[kind]--
	}
}

// SubscribeCustomer adds a widget connection of a customer; the returned
// function removes it.
func (h *Hub) SubscribeCustomer(sc scope.Scope, customerID string, s Subscriber) func() {
	return h.add(subKey{sc.TeamID, sc.Mode, customerID}, s)
}

// SubscribeTeam adds an agent stream of a team and mode.
func (h *Hub) SubscribeTeam(sc scope.Scope, s Subscriber) func() {
	return h.add(subKey{sc.TeamID, sc.Mode, ""}, s)
}

// SubscribeAgents adds a dashboard of a team and mode: it gets what the
// streams get, and also the customers' read positions and the end of
// agents' sessions.
func (h *Hub) SubscribeAgents(sc scope.Scope, s Subscriber) func() {
	return h.add(subKey{sc.TeamID, sc.Mode, agentsKey}, s)
}

// Counts returns the number of widget connections, and of agents' streams
// and dashboards.
func (h *Hub) Counts() (widgets, streams int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n[0], h.n[1]
}

// Publish hands ev to the connections it concerns. A customer's widgets
// get their tickets' events (never an internal note), agents' typing, read
// positions and the end of their sessions; a team's streams get ticket,
// message and customer events and customers' typing; its dashboards get
// those, read positions and the end of agents' sessions; the end of an API
// key reaches every connection of its team and mode. Test and live never
// meet: the mode is in every key.
func (h *Hub) Publish(ev chat.Event) {
	toCustomer, toTeam, toAgents := route(ev)
	h.mu.RLock()
	defer h.mu.RUnlock()
	if ev.Type == chat.KeyEnded {
		// Every connection of the team and mode, whoever its customer: each
		// one knows the key it was opened with. Rare enough to walk them all.
		for k, list := range h.subs {
			if k.team == ev.TeamID && k.mode == ev.Mode {
				for _, s := range list {
					s.Offer(&ev)
				}
			}
		}
		return
	}
	if toCustomer && ev.CustomerID != "" {
		for _, s := range h.subs[subKey{ev.TeamID, ev.Mode, ev.CustomerID}] {
			s.Offer(&ev)
		}
	}
	if toTeam {
		for _, s := range h.subs[subKey{ev.TeamID, ev.Mode, ""}] {
			s.Offer(&ev)
		}
	}
	if toAgents {
		for _, s := range h.subs[subKey{ev.TeamID, ev.Mode, agentsKey}] {
			s.Offer(&ev)
		}
	}
}

func route(ev chat.Event) (toCustomer, toTeam, toAgents bool) {
	switch ev.Type {
	case chat.TicketCreated, chat.TicketUpdated, chat.CustomerMerged:
		return true, true, true
	case chat.MessageCreated:
		return ev.Message == nil || !ev.Message.Internal, true, true
	case chat.CustomerCreated, chat.CustomerUpdated, chat.CustomerDeleted:
		return false, true, true
	case chat.Typing:
		byCustomer := ev.Author.Type == chat.AuthorCustomer
		return !byCustomer, byCustomer, byCustomer
	case chat.Read:
		return true, false, true
	case chat.SessionRevoked:
		return true, false, false
	case chat.AgentEnded:
		return false, false, true
	}
	return false, false, false
}

// CloseAll closes every connection with code: at shutdown (so clients
// reconnect elsewhere) or when events may have been missed.
func (h *Hub) CloseAll(code int, reason string) {
	h.mu.RLock()
	all := make([]Subscriber, 0, h.n[0]+h.n[1])
	for _, list := range h.subs {
		all = append(all, list...)
	}
	h.mu.RUnlock()
	for _, s := range all {
		s.Close(code, reason)
	}
}
