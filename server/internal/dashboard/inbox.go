package dashboard

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/socket"
)

// inboxPageSize is how many conversations a page of the inbox shows.
const inboxPageSize = 25

func (h *Handler) home(w http.ResponseWriter, r *req) error {
	http.Redirect(w, r.Request, r.base()+"/inbox", http.StatusSeeOther)
	return nil
}

// inboxView is the inbox's filter as the page's links carry it.
type inboxView struct {
	Status string // open, pending, closed
	View   string // unassigned, mine, all
}

func (h *Handler) inboxFilter(r *req) (inboxView, chat.InboxFilter) {
	q := r.URL.Query()
	v := inboxView{Status: q.Get("status"), View: q.Get("view")}
	switch v.Status {
	case helpdesk.StatusOpen, helpdesk.StatusPending, helpdesk.StatusClosed:
	default:
		v.Status = helpdesk.StatusOpen
	}
	f := chat.InboxFilter{Status: v.Status}
	switch v.View {
	case "unassigned":
		f.Assignee = chat.Unassigned
	case "mine":
		f.Assignee = r.Agent.ID
	default:
		v.View = "all"
	}
	return v, f
}

// row is one conversation of the inbox, as a row shows it.
type row struct {
	chat.Conversation
	Assignee string // the agent's name
	Mine     bool
}

func (h *Handler) rows(r *req, cs []chat.Conversation) ([]row, error) {
	names, err := h.agentNames(r)
	if err != nil {
		return nil, err
	}
	out := make([]row, len(cs))
	for i, c := range cs {
		out[i] = row{Conversation: c, Assignee: names[c.AssigneeID], Mine: c.AssigneeID == r.Agent.ID}
	}
	return out, nil
}

func (h *Handler) agentNames(r *req) (map[string]string, error) {
	list, err := h.Agents.List(r.Context(), r.Agent.TeamID)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(list))
	for _, a := range list {
		names[a.ID] = a.Name
	}
	return names, nil
}

// inbox lists the conversations of one status and view, newest activity
// first, a page at a time. The page carries the event log's position it was
// read at, so that its live connection misses nothing after it.
func (h *Handler) inbox(w http.ResponseWriter, r *req) error {
	v, f := h.inboxFilter(r)
	sc := r.scope()
	// The position first: an event after it may repeat what the page shows,
	// which the script handles; none is missed.
	pos, err := h.Chat.Head(r.Context(), sc)
	if err != nil {
		return err
	}
	pg, err := h.Chat.Inbox(r.Context(), sc, f, r.URL.Query().Get("cursor"), inboxPageSize)
	if err != nil {
		return err
	}
	counts, err := h.Chat.InboxCounts(r.Context(), sc, v.Status, r.Agent.ID)
	if err != nil {
		return err
	}
	rows, err := h.rows(r, pg.Items)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "inbox", map[string]any{"Filter": v, "Rows": rows, "Next": pg.Next,
		"Counts": counts, "Pos": pos, "First": r.URL.Query().Get("cursor") == ""}, "Inbox")
	return nil
}

// inboxRow is one row of the inbox for the live script: 200 with the row
// when the conversation belongs in the view, 204 when it does not (the
// script removes it).
func (h *Handler) inboxRow(w http.ResponseWriter, r *req) error {
	_, f := h.inboxFilter(r)
	c, err := h.Chat.Conversation(r.Context(), r.scope(), r.PathValue("id"))
	if errs.Is(err, errs.NotFound) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	if !f.Matches(c) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	rows, err := h.rows(r, []chat.Conversation{c})
	if err != nil {
		return err
	}
	return h.fragment(w, r, "inbox", "row", rowView{Base: r.base(), Row: rows[0]})
}

// inboxCounts are the views' counts, for the live script.
func (h *Handler) inboxCounts(w http.ResponseWriter, r *req) error {
	v, _ := h.inboxFilter(r)
	n, err := h.Chat.InboxCounts(r.Context(), r.scope(), v.Status, r.Agent.ID)
	if err != nil {
		return err
	}
	open := n
	if v.Status != helpdesk.StatusOpen {
		if open, err = h.Chat.InboxCounts(r.Context(), r.scope(), helpdesk.StatusOpen, r.Agent.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]int{"all": n.All, "unassigned": n.Unassigned, "mine": n.Mine,
		"unread_all": n.UnreadAll, "unread_unassigned": n.UnreadUnassigned, "unread_mine": n.UnreadMine,
		"unread_open": open.UnreadAll})
	return nil
}

// live is the dashboard's websocket: the team's events of the view's mode
// after ?after=<pos>, then live ones, authenticated by the session cookie.
// Its Origin must be this server's, since a cookie would go with another
// site's websocket too (cross-site websocket hijacking).
func (h *Handler) live(w http.ResponseWriter, r *req) error {
	if r.Header.Get("Origin") != h.origin(r.Request) {
		return errCrossSite
	}
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	resume := err == nil && after >= 0
	sc := r.scope()
	ctx := context.WithoutCancel(r.Context())
	pos, reset, err := h.Sockets.StreamStart(ctx, sc, after, resume)
	if err != nil {
		return err
	}
	until := r.Session.End()
	ws, err := h.upgrader.Upgrade(w, r.Request, nil)
	if err != nil {
		return nil // the upgrader has answered
	}
	tok := r.token
	h.Sockets.ServeDashboard(ctx, ws, socket.Agent{Scope: sc, ID: r.Agent.ID, Name: r.Agent.Name, SessionID: r.Session.ID,
		Until: until, Recheck: func(ctx context.Context) (time.Time, error) { return h.Agents.SessionEnd(ctx, tok) }}, pos, reset)
	return nil
}
