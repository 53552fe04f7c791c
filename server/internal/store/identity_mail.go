package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// ResetPassword implements identity.MailStore.
func (db *DB) ResetPassword(ctx context.Context, sc scope.Scope, customerID string, tokenHash []byte, passwordHash string, now time.Time) ([]string, error) {
	var ended []string
	var evs []chat.Event
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		ended = ended[:0]
		tok, err := useMailToken(ctx, tx, mail.PurposeCustomerReset, tokenHash, now)
		if err != nil {
			return err
		}
		if tok.Scope() != sc || tok.SubjectID != customerID {
			return fmt.Errorf("reset password: %w", errs.ErrNotFound)
		}
		if err := spendMailTokens(ctx, tx, mail.PurposeCustomerReset, customerID, now); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Table("customers").Set("password_hash = ?", passwordHash).Set("email_verified = ?", true).
			Set("updated_at = ?", now.UTC()).
			Where(inScope+" AND email = ? AND password_hash IS NOT NULL", customerID, sc.TeamID, sc.Mode, tok.Email).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		if err := mustAffect(res, "reset password"); err != nil {
			return err
		}
		if evs, err = db.customerUpdated(ctx, tx, sc, customerID, now); err != nil {
			return err
		}
		err = tx.NewRaw(`DELETE FROM customer_sessions WHERE team_id = ? AND mode = ? AND customer_id = ? RETURNING id`,
			sc.TeamID, sc.Mode, customerID).Scan(ctx, &ended)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return mapErr(err)
	})
	if err != nil {
		return nil, fmt.Errorf("store: reset password: %w", err)
	}
	db.committed(evs)
	return ended, nil
}

// VerifyEmail implements identity.MailStore.
func (db *DB) VerifyEmail(ctx context.Context, sc scope.Scope, tokenHash []byte, now time.Time) (string, error) {
	var id string
	var evs []chat.Event
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		tok, err := useMailToken(ctx, tx, mail.PurposeVerifyEmail, tokenHash, now)
		if err != nil {
			return err
		}
		if tok.Scope() != sc {
			return fmt.Errorf("verify email: %w", errs.ErrNotFound)
		}
		res, err := tx.NewUpdate().Table("customers").Set("email_verified = ?", true).Set("updated_at = ?", now.UTC()).
			Where(inScope+" AND email = ?", tok.SubjectID, sc.TeamID, sc.Mode, tok.Email).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		id = tok.SubjectID
		if err := mustAffect(res, "verify email"); err != nil {
			return err
		}
		evs, err = db.customerUpdated(ctx, tx, sc, id, now)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: verify email: %w", err)
	}
	db.committed(evs)
	return id, nil
}

// customerUpdated logs customer.updated for a customer of sc as tx has it
// now (its email verified), in tx's transaction.
func (db *DB) customerUpdated(ctx context.Context, tx bun.Tx, sc scope.Scope, id string, at time.Time) ([]chat.Event, error) {
	var r customerView
	if err := tx.NewSelect().Model(&r).Where(inScope, id, sc.TeamID, sc.Mode).Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	evs := []chat.Event{chat.CustomerEvent(chat.CustomerUpdated, r.customer(), at.UTC())}
	if err := db.appendEvents(ctx, tx, evs); err != nil {
		return nil, err
	}
	return evs, nil
}
