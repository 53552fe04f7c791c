package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/cstar-chat/cstar/server/internal/errs"

	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/wire"
)

type customerIn struct {
	Email      *string        `json:"email"`
	Name       *string        `json:"name"`
	ExternalID *string        `json:"external_id"`
	Metadata   map[string]any `json:"metadata"`
	// PasswordHash is a hash made by the team's own system (create and
	// import only); Password is declared only to refuse it in words.
	PasswordHash *string `json:"password_hash"`
	Password     *string `json:"password"`
}

func (in customerIn) input() helpdesk.CustomerInput {
	return helpdesk.CustomerInput{Email: in.Email, Name: in.Name, ExternalID: in.ExternalID, Metadata: in.Metadata}
}

// errPlainPassword refuses a password in clear: the API takes only a hash
// made by the team's own system, so that no password crosses it.
var errPlainPassword = errs.Invalidf("password", "Plain passwords are not accepted: send password_hash, an argon2id (PHC) or bcrypt hash")

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	res, err := s.Helpdesk.ListCustomers(r.Context(), principalOf(r.Context()).scope(),
		helpdesk.CustomerFilter{Email: q.Get("email"), ExternalID: q.Get("external_id")}, p)
	if err != nil {
		return err
	}
	return list(w, res, wire.CustomerOf)
}

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request) error {
	var in customerIn
	if err := decode(r, &in, false); err != nil {
		return err
	}
	if in.Password != nil {
		return errPlainPassword
	}
	sc := principalOf(r.Context()).scope()
	var c helpdesk.Customer
	var err error
	if in.PasswordHash != nil {
		c, err = s.Helpdesk.CreateCustomerWithPassword(r.Context(), sc, in.input(), *in.PasswordHash)
	} else {
		c, err = s.Helpdesk.CreateCustomer(r.Context(), sc, in.input())
	}
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, wire.CustomerOf(c))
}

func (s *Server) importCustomers(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Customers []json.RawMessage `json:"customers"`
	}
	if err := decode(r, &in, false); err != nil {
		return err
	}
	if len(in.Customers) == 0 || len(in.Customers) > helpdesk.MaxImport {
		return errs.Invalidf("customers", "customers must hold 1 to %d customers", helpdesk.MaxImport)
	}
	rows := make([]helpdesk.ImportInput, len(in.Customers))
	for i, raw := range in.Customers {
		var c customerIn
		err := DecodeJSON(raw, &c)
		if err == nil && c.Password != nil {
			err = errPlainPassword
		}
		if err != nil {
			return rowError(i, err)
		}
		rows[i] = helpdesk.ImportInput{CustomerInput: c.input(), PasswordHash: c.PasswordHash}
	}
	res, err := s.Helpdesk.ImportCustomers(r.Context(), principalOf(r.Context()).scope(), rows)
	if err != nil {
		return err
	}
	type row struct {
		Row      int           `json:"row"`
		Status   string        `json:"status"`
		Customer wire.Customer `json:"customer"`
	}
	out := struct {
		Created   int   `json:"created"`
		Updated   int   `json:"updated"`
		Unchanged int   `json:"unchanged"`
		Customers []row `json:"customers"`
	}{Customers: make([]row, len(res))}
	for i, im := range res {
		out.Customers[i] = row{Row: i, Status: im.Status, Customer: wire.CustomerOf(im.Customer)}
		switch im.Status {
		case helpdesk.Created:
			out.Created++
		case helpdesk.Updated:
			out.Updated++
		default:
			out.Unchanged++
		}
	}
	return ok(w, http.StatusOK, out)
}

// rowError names row i of an import in a decoding error.
func rowError(i int, err error) error {
	e := errs.Public(err)
	if e.Code != errs.Invalid {
		return err
	}
	out := *e
	out.Field = fmt.Sprintf("customers[%d]", i)
	if e.Field != "" {
		out.Field += "." + e.Field
	}
	out.Message = fmt.Sprintf("customers[%d]: %s", i, e.Message)
	return &out
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Helpdesk.Customer(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, wire.CustomerOf(c))
}

func (s *Server) updateCustomer(w http.ResponseWriter, r *http.Request) error {
	var in customerIn
	if err := decode(r, &in, false); err != nil {
		return err
	}
	switch {
	case in.Password != nil:
		return errPlainPassword
	case in.PasswordHash != nil:
		return errs.Invalidf("password_hash", "password_hash is set when a customer is created or imported only")
	}
	c, err := s.Helpdesk.UpdateCustomer(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"), in.input())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, wire.CustomerOf(c))
}

func (s *Server) deleteCustomer(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sc := principalOf(r.Context()).scope()
	if err := s.Helpdesk.DeleteCustomer(r.Context(), sc, id); err != nil {
		return err
	}
	s.Chat.SessionEnded(r.Context(), sc, id, "") // their open widgets close with 4502
	return ok(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
}

type ticketIn struct {
	Subject    *string   `json:"subject"`
	Status     *string   `json:"status"`
	Priority   *string   `json:"priority"`
	Channel    *string   `json:"channel"`
	CustomerID *string   `json:"customer_id"`
	Tags       *[]string `json:"tags"`
	// AssigneeID assigns the ticket to an agent of the team ("" unassigns).
	AssigneeID *string `json:"assignee_id"`
}

func (in ticketIn) input() helpdesk.TicketInput {
	return helpdesk.TicketInput{Subject: in.Subject, Status: in.Status, Priority: in.Priority, Channel: in.Channel,
		CustomerID: in.CustomerID, Tags: in.Tags}
}

// assignee checks the agent in.AssigneeID names, before anything is
// written: it must be an agent of the key's team. It returns the agent's id
// ("" unassigns).
func (s *Server) assignee(r *http.Request, in ticketIn) (string, error) {
	id := *in.AssigneeID
	if id == "" {
		return "", nil
	}
	a, err := s.Agents.Get(r.Context(), principalOf(r.Context()).Key.TeamID, id)
	if errs.Is(err, errs.NotFound) {
		return "", errs.Invalidf("assignee_id", "assignee_id is not an agent of the team")
	}
	if err != nil {
		return "", err
	}
	return a.ID, nil
}

// assign applies in's assignee, if it names one, to ticket t.
func (s *Server) assign(r *http.Request, t helpdesk.Ticket, in ticketIn, agentID string) (helpdesk.Ticket, error) {
	if in.AssigneeID == nil {
		return t, nil
	}
	return s.Helpdesk.Assign(r.Context(), principalOf(r.Context()).scope(), t.ID, agentID)
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	res, err := s.Helpdesk.ListTickets(r.Context(), principalOf(r.Context()).scope(),
		helpdesk.TicketFilter{Status: q.Get("status"), CustomerID: q.Get("customer_id")}, p)
	if err != nil {
		return err
	}
	return list(w, res, wire.TicketOf)
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) error {
	var in ticketIn
	if err := decode(r, &in, false); err != nil {
		return err
	}
	var agentID string
	if in.AssigneeID != nil {
		var err error
		if agentID, err = s.assignee(r, in); err != nil {
			return err
		}
	}
	t, err := s.Helpdesk.CreateTicket(r.Context(), principalOf(r.Context()).scope(), in.input())
	if err != nil {
		return err
	}
	if t, err = s.assign(r, t, in, agentID); err != nil {
		return err
	}
	return ok(w, http.StatusCreated, wire.TicketOf(t))
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Helpdesk.Ticket(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, wire.TicketOf(t))
}

func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request) error {
	var in ticketIn
	if err := decode(r, &in, false); err != nil {
		return err
	}
	var agentID string
	if in.AssigneeID != nil {
		var err error
		if agentID, err = s.assignee(r, in); err != nil {
			return err
		}
	}
	sc := principalOf(r.Context()).scope()
	var t helpdesk.Ticket
	var err error
	if in.input() == (helpdesk.TicketInput{}) && in.AssigneeID != nil {
		t, err = s.Helpdesk.Ticket(r.Context(), sc, r.PathValue("id")) // only the assignee changes
	} else {
		t, err = s.Helpdesk.UpdateTicket(r.Context(), sc, r.PathValue("id"), in.input())
	}
	if err != nil {
		return err
	}
	if t, err = s.assign(r, t, in, agentID); err != nil {
		return err
	}
	return ok(w, http.StatusOK, wire.TicketOf(t))
}

func (s *Server) deleteTicket(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.Helpdesk.DeleteTicket(r.Context(), principalOf(r.Context()).scope(), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
}
