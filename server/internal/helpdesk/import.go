package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// MaxImport is the most customers one import takes.
const MaxImport = 1000

// Import statuses.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
)

// ImportKey is what an import row is matched by, and the password hash it
// sets.
type ImportKey struct {
	Email        string
	ExternalID   string
	PasswordHash string
}

// Imported is one row's customer as stored, and what happened to it.
type Imported struct {
	Customer Customer
	Status   string
}

// RowError is a failure that one row of an import caused.
type RowError struct {
	Row int
	Err error
}

func (e *RowError) Error() string { return fmt.Sprintf("row %d: %v", e.Row, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// ImportStore writes a whole import in one transaction.
type ImportStore interface {
	// InsertCustomerWithPassword stores a new customer with a password hash
	// set, so that they can sign in with their email.
	InsertCustomerWithPassword(ctx context.Context, c Customer, passwordHash string) error
	// ImportCustomers finds each row's customer (by external id, else by a
	// proven email; a row matching two customers is a RowError wrapping
	// errs.ErrConflict), asks merge for what to store (changed false: leave
	// it), inserts or updates it with the row's password hash when set, and
	// logs the events, all or nothing. A row that hits a unique index is a
	// RowError wrapping errs.ErrConflict.
	ImportCustomers(ctx context.Context, sc scope.Scope, keys []ImportKey,
		merge func(row int, found *Customer) (c Customer, changed bool, err error)) ([]Imported, error)
}

// ImportInput is one row of an import: a customer's fields and, optionally,
// the hash of the password they had on the team's own system.
type ImportInput struct {
	CustomerInput
	PasswordHash *string
}

// rowErr names row i in a validation error's field and message.
func rowErr(i int, err error) error {
	var e *errs.Error
	if errors.As(err, &e) && e.Code == errs.Invalid {
		out := *e
		out.Field = fmt.Sprintf("customers[%d]", i)
		if e.Field != "" {
			out.Field += "." + e.Field
		}
		out.Message = fmt.Sprintf("customers[%d]: %s", i, e.Message)
		return &out
	}
	return err
}

// ImportCustomers creates or updates up to MaxImport customers at once, all
// or nothing: a row whose external id, else email (a proven one), names a
// customer updates that customer with the fields it sets; any other row
// creates one. Importing the same rows again changes nothing. A
// password_hash (argon2id or bcrypt, see password.CheckImported) lets the
// customer sign in to the widget with their old password; it needs an
// email, their sign-in name.
func (s *Service) ImportCustomers(ctx context.Context, sc scope.Scope, rows []ImportInput) ([]Imported, error) {
	if len(rows) == 0 || len(rows) > MaxImport {
		return nil, errs.Invalidf("customers", "customers must hold 1 to %d customers", MaxImport)
	}
	st := s.store
	keys := make([]ImportKey, len(rows))
	emails, exts := map[string]int{}, map[string]int{}
	for i, in := range rows {
		// Each row must stand on its own as a new customer; what it would
		// change on an existing one is checked again in merge.
		probe := Customer{Metadata: map[string]any{}}
		if err := applyCustomer(&probe, in.CustomerInput); err != nil {
			return nil, rowErr(i, err)
		}
		if in.PasswordHash != nil {
			if err := password.CheckImported("password_hash", *in.PasswordHash); err != nil {
				return nil, rowErr(i, err)
			}
			if probe.Email == "" {
				return nil, rowErr(i, errs.Invalidf("email", "email is required with a password_hash: it is the sign-in name"))
			}
			keys[i].PasswordHash = *in.PasswordHash
		}
		keys[i].Email, keys[i].ExternalID = probe.Email, probe.ExternalID
		if j, dup := emails[probe.Email]; dup && probe.Email != "" {
			return nil, rowErr(i, errs.Invalidf("email", "email is also in customers[%d]", j))
		}
		if j, dup := exts[probe.ExternalID]; dup && probe.ExternalID != "" {
			return nil, rowErr(i, errs.Invalidf("external_id", "external_id is also in customers[%d]", j))
		}
		emails[probe.Email], exts[probe.ExternalID] = i, i
	}
	now := s.clock()
	out, err := st.ImportCustomers(ctx, sc, keys, func(i int, found *Customer) (Customer, bool, error) {
		if found == nil {
			id, err := ids.New()
			if err != nil {
				return Customer{}, false, err
			}
			c := Customer{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, Metadata: map[string]any{}, CreatedAt: now,
				UpdatedAt: now, EmailVerified: true, NameVerified: true}
			if err := applyCustomer(&c, rows[i].CustomerInput); err != nil {
				return Customer{}, false, rowErr(i, err)
			}
			return c, true, nil
		}
		c := *found
		if err := applyCustomer(&c, rows[i].CustomerInput); err != nil {
			return Customer{}, false, rowErr(i, err)
		}
		// The site vouches for what it imports, as for what it creates.
		c.EmailVerified, c.NameVerified = true, true
		changed := c.Email != found.Email || c.Name != found.Name || c.ExternalID != found.ExternalID ||
			!reflect.DeepEqual(c.Metadata, found.Metadata) || c.EmailVerified != found.EmailVerified ||
			c.NameVerified != found.NameVerified
		if changed {
			c.UpdatedAt = now
		}
		return c, changed, nil
	})
	var re *RowError
	switch {
	case errors.As(err, &re) && errors.Is(err, errs.ErrConflict):
		return nil, &errs.Error{Code: errs.Conflict, Field: fmt.Sprintf("customers[%d]", re.Row),
			Message: fmt.Sprintf("customers[%d]: %s", re.Row, conflictText(re.Err))}
	case errors.As(err, &re):
		return nil, re.Err
	case err != nil:
		return nil, fmt.Errorf("helpdesk: import customers: %w", err)
	}
	return out, nil
}

// ErrTwoMatches is what a row whose external id and email name two
// different customers wraps.
var ErrTwoMatches = fmt.Errorf("%w: the external_id and the email name two different customers", errs.ErrConflict)

func conflictText(err error) string {
	if errors.Is(err, ErrTwoMatches) {
		return "the external_id and the email name two different customers"
	}
	return "the email or external_id is taken by another customer (or the email by a widget sign-up)"
}
