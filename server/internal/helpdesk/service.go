package helpdesk

import (
	"context"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Store is what the help desk needs from persistence. Every method acts
// inside one scope only: a row of another team or mode is reported as
// missing (an error wrapping errs.ErrNotFound). Unique violations wrap
// errs.ErrConflict. Lists are newest first, start after the id after (when
// not empty) and return at most limit rows.
type Store interface {
	InsertCustomer(ctx context.Context, c Customer) error
	CustomerByID(ctx context.Context, sc scope.Scope, id string) (Customer, error)
	// UpdateCustomer writes c's fields over the row of c's scope and id.
	UpdateCustomer(ctx context.Context, c Customer) error
	// DeleteCustomer removes a customer at time at.
	DeleteCustomer(ctx context.Context, sc scope.Scope, id string, at time.Time) error
	ListCustomers(ctx context.Context, sc scope.Scope, f CustomerFilter, after string, limit int) ([]Customer, error)

	// InsertTicket and UpdateTicket return ErrUnknownCustomer (wrapped) when
	// the ticket's customer does not exist.
	InsertTicket(ctx context.Context, t Ticket) error
	TicketByID(ctx context.Context, sc scope.Scope, id string) (Ticket, error)
	// UpdateTicket writes t's fields over the row of t's scope and id.
	UpdateTicket(ctx context.Context, t Ticket) error
	DeleteTicket(ctx context.Context, sc scope.Scope, id string) error
	ListTickets(ctx context.Context, sc scope.Scope, f TicketFilter, after string, limit int) ([]Ticket, error)

	ImportStore
}

// ErrUnknownCustomer is the error for a customer_id that names no customer
// of the scope. The store returns it when a foreign key check fails, which
// happens only when the customer is deleted while a ticket is being written.
var ErrUnknownCustomer = errs.Invalidf("customer_id", "customer_id does not name a customer")

// Service manages customers and tickets.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a help-desk service.
func NewService(st Store, now func() time.Time) *Service {
	return &Service{store: st, now: now}
}

// clock returns the time in UTC at the microsecond precision that
// PostgreSQL keeps, so that what is returned equals what is read back.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }
