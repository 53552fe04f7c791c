package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

type sessionRow struct {
	bun.BaseModel `bun:"table:customer_sessions"`

	ID                string    `bun:"id,pk"`
	TeamID            string    `bun:"team_id"`
	Mode              string    `bun:"mode"`
	CustomerID        string    `bun:"customer_id"`
	TokenHash         []byte    `bun:"token_hash"`
	CreatedAt         time.Time `bun:"created_at"`
	LastUsedAt        time.Time `bun:"last_used_at"`
	ExpiresAt         time.Time `bun:"expires_at"`
	AbsoluteExpiresAt time.Time `bun:"absolute_expires_at"`
}

func (r sessionRow) session() identity.Session {
	return identity.Session{ID: r.ID, TeamID: r.TeamID, Mode: scope.Mode(r.Mode), CustomerID: r.CustomerID,
		TokenHash: r.TokenHash, CreatedAt: r.CreatedAt.UTC(), LastUsedAt: r.LastUsedAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC(), AbsoluteExpiresAt: r.AbsoluteExpiresAt.UTC()}
}

// InsertAccount stores a new customer together with its password hash, in
// one transaction so that no customer is left without the password it was
// created for. The email is the account's sign-in name, which nobody
// proved: it is unique among password accounts only (customers_signin_email)
// and marked unverified, like the name. The row is inserted without the
// email and given it with the password hash, so that it is never, even
// inside the transaction, a proven email. The jobs (its verification mail)
// are queued by the same transaction, with the language they are in.
func (db *DB) InsertAccount(ctx context.Context, c helpdesk.Customer, passwordHash string, jobs ...mail.Job) error {
	ev := c
	ev.EmailVerified, ev.NameVerified = false, false
	err := db.writeLogged(ctx, func(ctx context.Context, tx bun.Tx) error {
		r := customerToRow(c)
		r.Email = nil
		if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewUpdate().Table("customers").Set("password_hash = ?", passwordHash).
			Set("email = ?", nullable(c.Email)).Set("email_verified = ?", false).Set("name_verified = ?", false).Set("kind = ?", helpdesk.KindAccount).
			Where(inScope, c.ID, c.TeamID, c.Mode).Exec(ctx)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.Locale != "" {
				if err := upsertCustomerMail(ctx, tx, scope.Scope{TeamID: c.TeamID, Mode: c.Mode}, c.ID, "locale", j.Locale); err != nil {
					return err
				}
			}
		}
		return enqueueMail(ctx, tx, jobs)
	}, chat.CustomerEvent(chat.CustomerCreated, ev, c.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: insert account: %w", mapErr(err))
	}
	return nil
}

// AccountByEmail returns the password account of s whose sign-in name is
// email, and its password hash. Customers without a password are not
// accounts, whatever their email.
func (db *DB) AccountByEmail(ctx context.Context, s scope.Scope, email string) (helpdesk.Customer, string, error) {
	var id string
	var hash *string
	err := db.bun.NewRaw("SELECT id, password_hash FROM customers WHERE team_id = ? AND mode = ? AND email = ? AND password_hash IS NOT NULL",
		s.TeamID, s.Mode, email).Scan(ctx, &id, &hash)
	if err != nil {
		return helpdesk.Customer{}, "", fmt.Errorf("store: account by email: %w", mapErr(err))
	}
	c, err := db.CustomerByID(ctx, s, id)
	if err != nil {
		return helpdesk.Customer{}, "", err
	}
	return c, deref(hash), nil
}

// SetPasswordHash replaces a customer's password hash.
func (db *DB) SetPasswordHash(ctx context.Context, s scope.Scope, customerID, hash string) error {
	res, err := db.bun.NewUpdate().Table("customers").Set("password_hash = ?", hash).
		Where(inScope, customerID, s.TeamID, s.Mode).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: set password hash: %w", mapErr(err))
	}
	return mustAffect(res, "set password hash")
}

// PasswordHashOf implements identity.Store.
func (db *DB) PasswordHashOf(ctx context.Context, s scope.Scope, customerID string) (string, error) {
	var hash *string
	err := db.bun.NewRaw("SELECT password_hash FROM customers WHERE id = ? AND team_id = ? AND mode = ?",
		customerID, s.TeamID, s.Mode).Scan(ctx, &hash)
	if err != nil {
		return "", fmt.Errorf("store: password hash: %w", mapErr(err))
	}
	return deref(hash), nil
}

// InsertSession stores a new session.
func (db *DB) InsertSession(ctx context.Context, ses identity.Session) error {
	r := &sessionRow{ID: ses.ID, TeamID: ses.TeamID, Mode: string(ses.Mode), CustomerID: ses.CustomerID,
		TokenHash: ses.TokenHash, CreatedAt: ses.CreatedAt.UTC(), LastUsedAt: ses.LastUsedAt.UTC(),
		ExpiresAt: ses.ExpiresAt.UTC(), AbsoluteExpiresAt: ses.AbsoluteExpiresAt.UTC()}
	if _, err := db.bun.NewInsert().Model(r).Exec(ctx); err != nil {
		return fmt.Errorf("store: insert session: %w", mapErr(err))
	}
	return nil
}

// SessionByTokenHash returns the session of s stored under hash, expired or
// not.
func (db *DB) SessionByTokenHash(ctx context.Context, s scope.Scope, hash []byte) (identity.Session, error) {
	var r sessionRow
	err := db.bun.NewSelect().Model(&r).
		Where("token_hash = ? AND team_id = ? AND mode = ?", hash, s.TeamID, s.Mode).Scan(ctx)
	if err != nil {
		return identity.Session{}, fmt.Errorf("store: session by token: %w", mapErr(err))
	}
	return r.session(), nil
}

// TouchSession records a use of a session and moves its idle expiry.
func (db *DB) TouchSession(ctx context.Context, s scope.Scope, id string, lastUsed, expires time.Time) error {
	res, err := db.bun.NewUpdate().Model((*sessionRow)(nil)).
		Set("last_used_at = ?", lastUsed.UTC()).Set("expires_at = ?", expires.UTC()).
		Where(inScope, id, s.TeamID, s.Mode).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: touch session: %w", mapErr(err))
	}
	return mustAffect(res, "touch session")
}

// DeleteSession removes one session of s.
func (db *DB) DeleteSession(ctx context.Context, s scope.Scope, id string) error {
	res, err := db.bun.NewDelete().Model((*sessionRow)(nil)).Where(inScope, id, s.TeamID, s.Mode).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: delete session: %w", mapErr(err))
	}
	return mustAffect(res, "delete session")
}

// ListSessions returns the customer's sessions of s still valid at now,
// newest first.
func (db *DB) ListSessions(ctx context.Context, s scope.Scope, customerID string, now time.Time) ([]identity.Session, error) {
	var rows []sessionRow
	err := db.bun.NewSelect().Model(&rows).
		Where("team_id = ? AND mode = ? AND customer_id = ?", s.TeamID, s.Mode, customerID).
		Where("expires_at > ? AND absolute_expires_at > ?", now.UTC(), now.UTC()).
		Order("id DESC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", mapErr(err))
	}
	out := make([]identity.Session, len(rows))
	for i, r := range rows {
		out[i] = r.session()
	}
	return out, nil
}

// DeleteSessions removes every session of a customer of s.
func (db *DB) DeleteSessions(ctx context.Context, s scope.Scope, customerID string) (int, error) {
	res, err := db.bun.NewDelete().Model((*sessionRow)(nil)).
		Where("team_id = ? AND mode = ? AND customer_id = ?", s.TeamID, s.Mode, customerID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions: %w", mapErr(err))
	}
	return int(n), nil
}

var _ identity.Store = (*DB)(nil)
