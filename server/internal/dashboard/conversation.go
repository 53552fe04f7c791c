package dashboard

import (
	"net/http"
	"strconv"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/wire"
)

// historyPage is how many messages a conversation shows at first, and per
// "earlier messages".
const historyPage = 50

// customerPanel is what the conversation shows of its customer.
type customerPanel struct {
	helpdesk.Customer
	Kind     string
	Others   []helpdesk.Ticket
	Sessions []identity.Session
}

// conversation shows a conversation: its messages and notes (the newest
// page), the composer, the customer panel. A GET changes nothing (a
// prefetch or a link preview must not tell the customer their message was
// read): the page's script posts …/read once it is shown.
func (h *Handler) conversation(w http.ResponseWriter, r *req) error {
	sc := r.scope()
	pos, err := h.Chat.Head(r.Context(), sc)
	if err != nil {
		return err
	}
	c, err := h.Chat.Conversation(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		return err
	}
	hist, err := h.Chat.History(r.Context(), sc, c.ID, 0, historyPage)
	if err != nil {
		return err
	}
	read, err := h.Chat.ArticleViews(r.Context(), sc, c.ID)
	if err != nil {
		return err
	}
	agents, err := h.Agents.List(r.Context(), r.Agent.TeamID)
	if err != nil {
		return err
	}
	replies, err := h.Agents.SavedReplies(r.Context(), r.Agent.TeamID)
	if err != nil {
		return err
	}
	var panel *customerPanel
	if c.CustomerID != "" {
		cu, err := h.Helpdesk.Customer(r.Context(), sc, c.CustomerID)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
		if err == nil {
			panel = &customerPanel{Customer: cu, Kind: cu.Kind}
			tickets, err := h.Helpdesk.ListTickets(r.Context(), sc, helpdesk.TicketFilter{CustomerID: cu.ID}, page.Params{Limit: 10})
			if err != nil {
				return err
			}
			for _, t := range tickets.Items {
				if t.ID != c.ID {
					panel.Others = append(panel.Others, t)
				}
			}
			if panel.Sessions, err = h.Identity.Sessions(r.Context(), sc, cu.ID); err != nil {
				return err
			}
		}
	}
	assignee := ""
	for _, a := range agents {
		if a.ID == c.AssigneeID {
			assignee = a.Name
		}
	}
	h.render(w, r, http.StatusOK, "conversation", map[string]any{"C": c, "Messages": hist.Messages, "HasMore": hist.HasMore,
		"Agents": agents, "Assignee": assignee, "Replies": replies, "Customer": panel, "Pos": pos,
		"Read": read}, c.Subject)
	return nil
}

// olderMessages is a page of earlier messages (before ?before_seq), for the
// script that prepends them.
func (h *Handler) olderMessages(w http.ResponseWriter, r *req) error {
	before, err := strconv.ParseInt(r.URL.Query().Get("before_seq"), 10, 64)
	if err != nil || before < 1 {
		return errs.Invalidf("before_seq", "before_seq must be a positive number")
	}
	hist, err := h.Chat.History(r.Context(), r.scope(), r.PathValue("id"), before, historyPage)
	if err != nil {
		return err
	}
	if hist.HasMore {
		w.Header().Set("X-Has-More", "1")
	}
	return h.fragment(w, r, "conversation", "messages", hist.Messages)
}

// postMessage stores the agent's reply or internal note. A script gets the
// message as JSON (it shows it at once; the live event that follows is
// dropped as already shown); a plain form comes back to the conversation.
// Replying marks the conversation read up to the reply.
func (h *Handler) postMessage(w http.ResponseWriter, r *req) error {
	sc := r.scope()
	internal := r.PostFormValue("internal") == "1"
	m, err := h.Chat.Post(r.Context(), sc, r.PathValue("id"), chat.Author{ID: r.Agent.ID, Name: r.Agent.Name},
		r.PostFormValue("client_id"), r.PostFormValue("body"), internal)
	to := r.base() + "/conversations/" + r.PathValue("id")
	if err != nil {
		return h.refused(w, r, to, err)
	}
	if _, err := h.Chat.AgentRead(r.Context(), sc, m.TicketID, m.Seq); err != nil {
		return err
	}
	if wantsJSON(r.Request) {
		writeJSON(w, http.StatusCreated, wire.Message(m))
		return nil
	}
	http.Redirect(w, r.Request, to, http.StatusSeeOther)
	return nil
}

// setStatus closes, reopens or parks a conversation; the customer's widget
// hears of it.
func (h *Handler) setStatus(w http.ResponseWriter, r *req) error {
	st := r.PostFormValue("status")
	_, err := h.Helpdesk.UpdateTicket(r.Context(), r.scope(), r.PathValue("id"), helpdesk.TicketInput{Status: &st})
	to := r.base() + "/conversations/" + r.PathValue("id")
	if err != nil {
		return h.refused(w, r, to, err)
	}
	return h.back(w, r, to, "Status: "+st+".")
}

// assign gives the conversation to an agent of the team (or nobody).
func (h *Handler) assign(w http.ResponseWriter, r *req) error {
	id := r.PostFormValue("assignee")
	to := r.base() + "/conversations/" + r.PathValue("id")
	name := "nobody"
	if id == "me" {
		id = r.Agent.ID
	}
	if id != "" {
		a, err := h.Agents.Get(r.Context(), r.Agent.TeamID, id)
		if err != nil {
			return h.refused(w, r, to, errs.Invalidf("assignee", "assignee is not an agent of the team"))
		}
		id, name = a.ID, a.Name
	}
	if _, err := h.Helpdesk.Assign(r.Context(), r.scope(), r.PathValue("id"), id); err != nil {
		return h.refused(w, r, to, err)
	}
	return h.back(w, r, to, "Assigned to "+name+".")
}

// markRead records that the agents have read the conversation up to seq
// (the script sends it as messages arrive while the page is in view).
func (h *Handler) markRead(w http.ResponseWriter, r *req) error {
	seq, err := strconv.ParseInt(r.PostFormValue("seq"), 10, 64)
	if err != nil || seq < 0 {
		return errs.Invalidf("seq", "seq must be a number")
	}
	t, err := h.Chat.AgentRead(r.Context(), r.scope(), r.PathValue("id"), seq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"agent_read_seq": t.AgentReadSeq})
	return nil
}

// signOutCustomer ends every session of a customer; their open widgets
// close on every process.
func (h *Handler) signOutCustomer(w http.ResponseWriter, r *req) error {
	sc := r.scope()
	id := r.PathValue("id")
	n, err := h.Identity.RevokeSessions(r.Context(), sc, id)
	to := r.base() + "/inbox"
	if t := r.PostFormValue("ticket"); t != "" {
		to = r.base() + "/conversations/" + urlEscape(t)
	}
	if err != nil {
		return h.refused(w, r, to, err)
	}
	h.Chat.SessionEnded(r.Context(), sc, id, "")
	return h.back(w, r, to, "Signed the customer out of "+strconv.Itoa(n)+" session(s).")
}
