package httpapi

import (
	"net/http"

	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/wire"
)

type customerIn struct {
	Email      *string        `json:"email"`
	Name       *string        `json:"name"`
	ExternalID *string        `json:"external_id"`
	Metadata   map[string]any `json:"metadata"`
}

func (in customerIn) input() helpdesk.CustomerInput {
	return helpdesk.CustomerInput{Email: in.Email, Name: in.Name, ExternalID: in.ExternalID, Metadata: in.Metadata}
}

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
	c, err := s.Helpdesk.CreateCustomer(r.Context(), principalOf(r.Context()).scope(), in.input())
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, wire.CustomerOf(c))
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
}

func (in ticketIn) input() helpdesk.TicketInput {
	return helpdesk.TicketInput{Subject: in.Subject, Status: in.Status, Priority: in.Priority, Channel: in.Channel,
		CustomerID: in.CustomerID, Tags: in.Tags}
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
	t, err := s.Helpdesk.CreateTicket(r.Context(), principalOf(r.Context()).scope(), in.input())
	if err != nil {
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
	t, err := s.Helpdesk.UpdateTicket(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"), in.input())
	if err != nil {
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
