package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

type customerRow struct {
	bun.BaseModel `bun:"table:customers"`

	ID     string `bun:"id,pk"`
	TeamID string `bun:"team_id"`
	Mode   string `bun:"mode"`
	// Email and ExternalID are NULL when absent, so that the unique indexes
	// ignore them.
	Email      *string        `bun:"email"`
	Name       string         `bun:"name"`
	ExternalID *string        `bun:"external_id"`
	Metadata   map[string]any `bun:"metadata"`
	CreatedAt  time.Time      `bun:"created_at"`
	UpdatedAt  time.Time      `bun:"updated_at"`
}

func (r customerRow) customer() helpdesk.Customer {
	md := r.Metadata
	if md == nil {
		md = map[string]any{}
	}
	return helpdesk.Customer{ID: r.ID, TeamID: r.TeamID, Mode: scope.Mode(r.Mode), Email: deref(r.Email),
		Name: r.Name, ExternalID: deref(r.ExternalID), Metadata: md,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// customerView is a customer as read for the API and the agents: the row
// and what was proven about its email and name (migration 0007). Writes go
// through customerRow, so that the database's defaults and the identity
// paths alone set the proofs.
type customerView struct {
	customerRow `bun:",extend"`

	EmailVerified   bool    `bun:"email_verified"`
	NameVerified    bool    `bun:"name_verified"`
	UnverifiedEmail *string `bun:"unverified_email"`
	// How it came to be, and where a merged visitor went (migration 0012).
	Kind       string  `bun:"kind"`
	MergedInto *string `bun:"merged_into"`
}

func (v customerView) customer() helpdesk.Customer {
	c := v.customerRow.customer()
	c.EmailVerified, c.NameVerified, c.UnverifiedEmail = v.EmailVerified, v.NameVerified, deref(v.UnverifiedEmail)
	c.Kind, c.MergedInto = v.Kind, deref(v.MergedInto)
	return c
}

func customerToRow(c helpdesk.Customer) *customerRow {
	md := c.Metadata
	if md == nil {
		md = map[string]any{}
	}
	return &customerRow{ID: c.ID, TeamID: c.TeamID, Mode: string(c.Mode), Email: nullable(c.Email),
		Name: c.Name, ExternalID: nullable(c.ExternalID), Metadata: md,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

type ticketRow struct {
	bun.BaseModel `bun:"table:tickets"`

	ID         string     `bun:"id,pk"`
	TeamID     string     `bun:"team_id"`
	Mode       string     `bun:"mode"`
	Subject    string     `bun:"subject"`
	Status     string     `bun:"status"`
	Priority   string     `bun:"priority"`
	Channel    string     `bun:"channel"`
	CustomerID *string    `bun:"customer_id"`
	Tags       []string   `bun:"tags"`
	CreatedAt  time.Time  `bun:"created_at"`
	UpdatedAt  time.Time  `bun:"updated_at"`
	ClosedAt   *time.Time `bun:"closed_at"`
	// MergedFrom is migration 0012's: written by the merge only.
	MergedFrom *string `bun:"merged_from"`

	LastSeq         int64 `bun:"last_seq"`
	CustomerReadSeq int64 `bun:"customer_read_seq"`
	AgentReadSeq    int64 `bun:"agent_read_seq"`
	// AssigneeID is migration 0010's.
	AssigneeID *string `bun:"assignee_id"`
	// How far the customer and the assignee have had the messages
	// (migration 0013): read here, written by the store's mail paths only.
	CustomerDeliveredSeq int64 `bun:"customer_delivered_seq,scanonly"`
	CustomerMailedSeq    int64 `bun:"customer_mailed_seq,scanonly"`
	AssigneeMailedSeq    int64 `bun:"assignee_mailed_seq,scanonly"`
}

func (r ticketRow) ticket() helpdesk.Ticket {
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	return helpdesk.Ticket{ID: r.ID, TeamID: r.TeamID, Mode: scope.Mode(r.Mode), Subject: r.Subject,
		Status: r.Status, Priority: r.Priority, Channel: r.Channel, CustomerID: deref(r.CustomerID), Tags: tags,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), ClosedAt: utcPtr(r.ClosedAt),
		MergedFrom: deref(r.MergedFrom), LastSeq: r.LastSeq, CustomerReadSeq: r.CustomerReadSeq, AgentReadSeq: r.AgentReadSeq,
		AssigneeID: deref(r.AssigneeID)}
}

func ticketToRow(t helpdesk.Ticket) *ticketRow {
	tags := t.Tags
	if tags == nil {
		tags = []string{}
	}
	return &ticketRow{ID: t.ID, TeamID: t.TeamID, Mode: string(t.Mode), Subject: t.Subject, Status: t.Status,
		Priority: t.Priority, Channel: t.Channel, CustomerID: nullable(t.CustomerID), Tags: tags,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(), ClosedAt: utcPtr(t.ClosedAt),
		LastSeq: t.LastSeq, CustomerReadSeq: t.CustomerReadSeq, AgentReadSeq: t.AgentReadSeq, AssigneeID: nullable(t.AssigneeID)}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// foreignKeyErr turns a failed foreign key check on a ticket's customer into
// helpdesk.ErrUnknownCustomer: the customer was deleted after the service
// looked it up.
func foreignKeyErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return fmt.Errorf("%w: %w", helpdesk.ErrUnknownCustomer, err)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) && sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return fmt.Errorf("%w: %w", helpdesk.ErrUnknownCustomer, err)
	}
	return mapErr(err)
}

const inScope = "id = ? AND team_id = ? AND mode = ?"

// Customer writes log their event (customer.created, .updated, .deleted)
// here, in their own transaction, rather than through a wrapper as tickets
// do (chat.LogTicketChanges): the help desk, sign-up, identify and import
// all write customers, and each write must reach the log that the agents'
// streams and the webhooks read.

// writeLogged runs write and appends evs in one transaction, and hands the
// events on once committed.
func (db *DB) writeLogged(ctx context.Context, write func(ctx context.Context, tx bun.Tx) error, evs ...chat.Event) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := write(ctx, tx); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, evs)
	})
	if err != nil {
		return err
	}
	db.committed(evs)
	return nil
}

// InsertCustomer stores a new customer.
func (db *DB) InsertCustomer(ctx context.Context, c helpdesk.Customer) error {
	err := db.writeLogged(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(customerToRow(c)).Exec(ctx)
		return err
	}, chat.CustomerEvent(chat.CustomerCreated, c, c.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: insert customer: %w", mapErr(err))
	}
	return nil
}

// CustomerByID returns the customer of scope s with the given id.
func (db *DB) CustomerByID(ctx context.Context, s scope.Scope, id string) (helpdesk.Customer, error) {
	var r customerView
	if err := db.bun.NewSelect().Model(&r).Where(inScope, id, s.TeamID, s.Mode).Scan(ctx); err != nil {
		return helpdesk.Customer{}, fmt.Errorf("store: customer by id: %w", mapErr(err))
	}
	return r.customer(), nil
}

// UpdateCustomer writes a customer's fields over the row of its scope.
func (db *DB) UpdateCustomer(ctx context.Context, c helpdesk.Customer) error {
	err := db.writeLogged(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(customerToRow(c)).
			Column("email", "name", "external_id", "metadata", "updated_at").
			Where(inScope, c.ID, c.TeamID, c.Mode).Exec(ctx)
		if err != nil {
			return err
		}
		return mustAffect(res, "update customer")
	}, chat.CustomerEvent(chat.CustomerUpdated, c, c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: update customer: %w", mapErr(err))
	}
	return nil
}

// DeleteCustomer removes a customer of scope s at time at; the schema
// detaches its tickets.
func (db *DB) DeleteCustomer(ctx context.Context, s scope.Scope, id string, at time.Time) error {
	ev := chat.Event{Type: chat.CustomerDeleted, TeamID: s.TeamID, Mode: s.Mode, CustomerID: id, CreatedAt: at}
	err := db.writeLogged(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*customerRow)(nil)).Where(inScope, id, s.TeamID, s.Mode).Exec(ctx)
		if err != nil {
			return err
		}
		return mustAffect(res, "delete customer")
	}, ev)
	if err != nil {
		return fmt.Errorf("store: delete customer: %w", mapErr(err))
	}
	return nil
}

// ListCustomers returns up to limit customers of scope s, newest first,
// older than the id after when it is set.
func (db *DB) ListCustomers(ctx context.Context, s scope.Scope, f helpdesk.CustomerFilter, after string, limit int) ([]helpdesk.Customer, error) {
	var rows []customerView
	q := db.bun.NewSelect().Model(&rows).Where("team_id = ? AND mode = ?", s.TeamID, s.Mode)
	if f.Email != "" {
		// Only a verified email is looked up: a sign-in name nobody proved
		// finds nobody.
		q = q.Where("email = ?", f.Email)
		if !f.AnyEmail {
			q = q.Where("email_verified")
		}
	}
	if f.ExternalID != "" {
		q = q.Where("external_id = ?", f.ExternalID)
	}
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if err := q.Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list customers: %w", mapErr(err))
	}
	out := make([]helpdesk.Customer, len(rows))
	for i, r := range rows {
		out[i] = r.customer()
	}
	return out, nil
}

// InsertTicket stores a new ticket and logs no event: the help desk is
// wired through chat.LogTicketChanges, which calls InsertTicketLogged.
func (db *DB) InsertTicket(ctx context.Context, t helpdesk.Ticket) error {
	return db.InsertTicketLogged(ctx, t, nil)
}

// InsertTicketLogged implements chat.TicketLog: the ticket and the events
// made of it, in one transaction.
func (db *DB) InsertTicketLogged(ctx context.Context, t helpdesk.Ticket, events func(helpdesk.Ticket) []chat.Event) error {
	var evs []chat.Event
	if events != nil {
		evs = events(t)
	}
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(ticketToRow(t)).Exec(ctx); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, evs)
	})
	if err != nil {
		return fmt.Errorf("store: insert ticket: %w", foreignKeyErr(err))
	}
	db.committed(evs)
	return nil
}

// TicketByID returns the ticket of scope s with the given id.
func (db *DB) TicketByID(ctx context.Context, s scope.Scope, id string) (helpdesk.Ticket, error) {
	var r ticketRow
	if err := db.bun.NewSelect().Model(&r).Where(inScope, id, s.TeamID, s.Mode).Scan(ctx); err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("store: ticket by id: %w", mapErr(err))
	}
	return r.ticket(), nil
}

// UpdateTicket writes a ticket's fields over the row of its scope and logs
// no event (see InsertTicket).
func (db *DB) UpdateTicket(ctx context.Context, t helpdesk.Ticket) error {
	return db.UpdateTicketLogged(ctx, t, nil)
}

// UpdateTicketLogged implements chat.TicketLog: the fields written and the
// events made of the row as stored (with its chat positions), in one
// transaction.
func (db *DB) UpdateTicketLogged(ctx context.Context, t helpdesk.Ticket, events func(helpdesk.Ticket) []chat.Event) error {
	var evs []chat.Event
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		evs = nil
		res, err := tx.NewUpdate().Model(ticketToRow(t)).
			Column("subject", "status", "priority", "channel", "customer_id", "tags", "updated_at", "closed_at", "assignee_id").
			Where(inScope, t.ID, t.TeamID, t.Mode).Returning("last_seq, customer_read_seq, agent_read_seq").
			Exec(ctx, &t.LastSeq, &t.CustomerReadSeq, &t.AgentReadSeq)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "update ticket"); err != nil {
			return err
		}
		if events != nil {
			evs = events(t)
		}
		return db.appendEvents(ctx, tx, evs)
	})
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: update ticket: %w", foreignKeyErr(err))
	}
	db.committed(evs)
	return nil
}

// DeleteTicket removes a ticket of scope s.
func (db *DB) DeleteTicket(ctx context.Context, s scope.Scope, id string) error {
	res, err := db.bun.NewDelete().Model((*ticketRow)(nil)).Where(inScope, id, s.TeamID, s.Mode).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: delete ticket: %w", mapErr(err))
	}
	return mustAffect(res, "delete ticket")
}

// ListTickets returns up to limit tickets of scope s, newest first, older
// than the id after when it is set.
func (db *DB) ListTickets(ctx context.Context, s scope.Scope, f helpdesk.TicketFilter, after string, limit int) ([]helpdesk.Ticket, error) {
	var rows []ticketRow
	q := db.bun.NewSelect().Model(&rows).Where("team_id = ? AND mode = ?", s.TeamID, s.Mode)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.CustomerID != "" {
		q = q.Where("customer_id = ?", f.CustomerID)
	}
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if err := q.Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list tickets: %w", mapErr(err))
	}
	out := make([]helpdesk.Ticket, len(rows))
	for i, r := range rows {
		out[i] = r.ticket()
	}
	return out, nil
}

var _ helpdesk.Store = (*DB)(nil)
