package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// InsertCustomerWithPassword implements helpdesk.ImportStore: the customer,
// proven by the site, with the password hash it brought, in one statement.
func (db *DB) InsertCustomerWithPassword(ctx context.Context, c helpdesk.Customer, passwordHash string) error {
	err := db.writeLogged(ctx, func(ctx context.Context, tx bun.Tx) error {
		return insertWithPassword(ctx, tx, c, passwordHash)
	}, chat.CustomerEvent(chat.CustomerCreated, c, c.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: insert customer with password: %w", mapErr(err))
	}
	return nil
}

type passwordRow struct {
	customerRow `bun:",extend"`

	PasswordHash string `bun:"password_hash"`
}

func insertWithPassword(ctx context.Context, tx bun.Tx, c helpdesk.Customer, hash string) error {
	_, err := tx.NewInsert().Model(&passwordRow{customerRow: *customerToRow(c), PasswordHash: hash}).Exec(ctx)
	return err
}

// ImportCustomers implements helpdesk.ImportStore.
func (db *DB) ImportCustomers(ctx context.Context, sc scope.Scope, keys []helpdesk.ImportKey,
	merge func(row int, found *helpdesk.Customer) (helpdesk.Customer, bool, error)) ([]helpdesk.Imported, error) {
	var out []helpdesk.Imported
	var evs []chat.Event
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		out, evs = make([]helpdesk.Imported, len(keys)), nil
		for i, k := range keys {
			var byExt, byEmail *helpdesk.Customer
			var hash sql.NullString
			find := func(where string, arg string) (*helpdesk.Customer, error) {
				var r customerView
				err := tx.NewSelect().Model(&r).Where("team_id = ? AND mode = ?", sc.TeamID, sc.Mode).Where(where, arg).Scan(ctx)
				if errors.Is(err, sql.ErrNoRows) {
					return nil, nil
				}
				if err != nil {
					return nil, err
				}
				c := r.customer()
				return &c, nil
			}
			var err error
			if k.ExternalID != "" {
				if byExt, err = find("external_id = ?", k.ExternalID); err != nil {
					return err
				}
			}
			if k.Email != "" {
				if byEmail, err = find("email = ? AND email_verified", k.Email); err != nil {
					return err
				}
			}
			found := byExt
			if found == nil {
				found = byEmail
			} else if byEmail != nil && byEmail.ID != byExt.ID {
				return &helpdesk.RowError{Row: i, Err: helpdesk.ErrTwoMatches}
			}
			c, changed, err := merge(i, found)
			if err != nil {
				return &helpdesk.RowError{Row: i, Err: err}
			}
			if found == nil {
				if k.PasswordHash != "" {
					err = insertWithPassword(ctx, tx, c, k.PasswordHash)
				} else {
					_, err = tx.NewInsert().Model(customerToRow(c)).Exec(ctx)
				}
				if err != nil {
					return &helpdesk.RowError{Row: i, Err: mapErr(err)}
				}
				out[i] = helpdesk.Imported{Customer: c, Status: helpdesk.Created}
				evs = append(evs, chat.CustomerEvent(chat.CustomerCreated, c, c.CreatedAt))
				continue
			}
			if k.PasswordHash != "" {
				if err := tx.NewRaw("SELECT password_hash FROM customers WHERE id = ?", c.ID).Scan(ctx, &hash); err != nil {
					return err
				}
				if !hash.Valid || hash.String != k.PasswordHash {
					changed = true
				}
			}
			if !changed {
				out[i] = helpdesk.Imported{Customer: c, Status: helpdesk.Unchanged}
				continue
			}
			q := tx.NewUpdate().Model(customerToRow(c)).Column("email", "name", "external_id", "metadata", "updated_at").
				Set("email_verified = ?", c.EmailVerified).Set("name_verified = ?", c.NameVerified)
			if k.PasswordHash != "" {
				q = q.Set("password_hash = ?", k.PasswordHash)
			}
			if _, err := q.Where(inScope, c.ID, sc.TeamID, sc.Mode).Exec(ctx); err != nil {
				return &helpdesk.RowError{Row: i, Err: mapErr(err)}
			}
			out[i] = helpdesk.Imported{Customer: c, Status: helpdesk.Updated}
			evs = append(evs, chat.CustomerEvent(chat.CustomerUpdated, c, c.UpdatedAt))
		}
		return db.appendEvents(ctx, tx, evs)
	})
	if err != nil {
		var re *helpdesk.RowError
		if errors.As(err, &re) {
			return nil, err
		}
		return nil, fmt.Errorf("store: import customers: %w", mapErr(err))
	}
	db.committed(evs)
	return out, nil
}

var _ helpdesk.ImportStore = (*DB)(nil)
