package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// verificationRow is a customer with the columns that say what was proven
// about it (migration 0007).
type verificationRow struct {
	customerRow `bun:",extend"`

	EmailVerified   bool    `bun:"email_verified"`
	NameVerified    bool    `bun:"name_verified"`
	UnverifiedEmail *string `bun:"unverified_email"`
	Kind            string  `bun:"kind"`
}

func (r verificationRow) verification() identity.Verification {
	return identity.Verification{EmailVerified: r.EmailVerified, NameVerified: r.NameVerified,
		UnverifiedEmail: deref(r.UnverifiedEmail)}
}

// IdentifiedByExternalID returns the customer of s with the team's own id
// externalID, and what was proven about it.
func (db *DB) IdentifiedByExternalID(ctx context.Context, s scope.Scope, externalID string) (helpdesk.Customer, identity.Verification, error) {
	var r verificationRow
	err := db.bun.NewSelect().Model(&r).
		Where("team_id = ? AND mode = ? AND external_id = ?", s.TeamID, s.Mode, externalID).Scan(ctx)
	if err != nil {
		return helpdesk.Customer{}, identity.Verification{}, fmt.Errorf("store: identified customer: %w", mapErr(err))
	}
	c := r.customer()
	c.Kind = r.Kind
	return c, r.verification(), nil
}

// CustomerVerification returns what was proven about a customer of s.
func (db *DB) CustomerVerification(ctx context.Context, s scope.Scope, id string) (identity.Verification, error) {
	var r verificationRow
	if err := db.bun.NewSelect().Model(&r).Where(inScope, id, s.TeamID, s.Mode).Scan(ctx); err != nil {
		return identity.Verification{}, fmt.Errorf("store: customer verification: %w", mapErr(err))
	}
	return r.verification(), nil
}

func toVerificationRow(c helpdesk.Customer, v identity.Verification) *verificationRow {
	kind := c.Kind
	if kind == "" {
		kind = helpdesk.KindIdentified
	}
	return &verificationRow{customerRow: *customerToRow(c), EmailVerified: v.EmailVerified,
		NameVerified: v.NameVerified, UnverifiedEmail: nullable(v.UnverifiedEmail), Kind: kind}
}

// withVerification is c with what v says was proven, for its event.
func withVerification(c helpdesk.Customer, v identity.Verification) helpdesk.Customer {
	c.EmailVerified, c.NameVerified, c.UnverifiedEmail = v.EmailVerified, v.NameVerified, v.UnverifiedEmail
	return c
}

// InsertIdentified stores a new customer and what was proven about it, in
// one statement: the unique indexes see the row as it will stay.
func (db *DB) InsertIdentified(ctx context.Context, c helpdesk.Customer, v identity.Verification) error {
	err := db.writeLogged(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(toVerificationRow(c, v)).Exec(ctx)
		return err
	}, chat.CustomerEvent(chat.CustomerCreated, withVerification(c, v), c.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: insert identified customer: %w", mapErr(err))
	}
	return nil
}

// UpdateIdentified writes a customer's email and name, and what was proven
// about them, over its row.
func (db *DB) UpdateIdentified(ctx context.Context, c helpdesk.Customer, v identity.Verification) error {
	err := db.writeLogged(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(toVerificationRow(c, v)).
			Column("email", "name", "updated_at", "email_verified", "name_verified", "unverified_email").
			Where(inScope, c.ID, c.TeamID, c.Mode).Exec(ctx)
		if err != nil {
			return err
		}
		return mustAffect(res, "update identified customer")
	}, chat.CustomerEvent(chat.CustomerUpdated, withVerification(c, v), c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: update identified customer: %w", mapErr(err))
	}
	return nil
}
